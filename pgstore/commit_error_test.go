package pgstore_test

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/pgstore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// TestServerEndingTheSessionLeavesTheOutcomeUnknown: a FATAL from the server
// (57P01 administrator shutdown, 57P02 crash shutdown) can follow a COMMIT that
// reached the disk, so it is of unknown outcome; a refusal (ERROR) is not.
func TestServerEndingTheSessionLeavesTheOutcomeUnknown(t *testing.T) {
	t.Parallel()
	for _, code := range []string{"57P01", "57P02"} {
		fatal := &pgconn.PgError{Severity: "FATAL", Code: code, Message: "terminating connection"}
		require.ErrorIs(t, pgstore.CommitError(fatal), storagefirst.ErrOutcomeUnknown, code)
		require.ErrorIs(t, pgstore.StatementError(fatal), storagefirst.ErrOutcomeUnknown, code)
	}
	refused := &pgconn.PgError{Severity: "ERROR", Code: "40001", Message: "could not serialize"}
	require.False(t, errors.Is(pgstore.CommitError(refused), storagefirst.ErrOutcomeUnknown))
	require.False(t, errors.Is(pgstore.StatementError(refused), storagefirst.ErrOutcomeUnknown))
}
