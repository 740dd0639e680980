package pgstore_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/pgstore"
)

// lockEnvelopes holds an exclusive lock on s's envelopes table until the test
// ends: every write (and read) of its queues waits for it.
func lockEnvelopes(t *testing.T, s *pgstore.Store) {
	ctx := context.Background()
	tx, err := s.Pool().Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback(ctx) })
	_, err = tx.Exec(ctx, "LOCK TABLE "+s.Schema()+".envelopes IN ACCESS EXCLUSIVE MODE")
	require.NoError(t, err)
}
