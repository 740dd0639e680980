package sqlitestore_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// TestLongStatementIsInterrupted: a statement still running at its context's
// deadline is interrupted (sqlite3_interrupt), the call returns the context's
// error, and the writer serves the next call.
func TestLongStatementIsInterrupted(t *testing.T) {
	t.Parallel()
	s := fresh(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitDeadline)
	defer cancel()
	start := time.Now()
	err := s.WriteTx(ctx, func(tx *sql.Tx) error {
		var n int64
		return tx.QueryRowContext(ctx, `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c`).Scan(&n)
	})
	took := time.Since(start)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, took, waitDeadline+waitMargin)

	q, err := s.Queue("q")
	require.NoError(t, err)
	env, err := storagefirst.NewEnvelope("t", []byte(`{}`))
	require.NoError(t, err)
	require.NoError(t, q.Put(context.Background(), env))
}
