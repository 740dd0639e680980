package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/pgstore"
)

// TestBeginCancelledMidBatchLeavesNoClaim: a Begin whose caller gives up while its
// batched upsert is already running (here: waiting on another transaction's
// insert of the same key) does not leave the key claimed by nobody: the claim the
// upsert takes once the other transaction rolls back is released, and the key
// can be claimed at once. The same holds for a Begin of NewIdempotencyStore,
// which runs its upsert alone.
func TestBeginCancelledMidBatchLeavesNoClaim(t *testing.T) {
	t.Parallel()
	bothIdempotencyStores(t, beginCancelledLeavesNoClaim)
}

func beginCancelledLeavesNoClaim(t *testing.T, b *bundle, idem *pgstore.IdempotencyStore) {
	ctx := testCtx(t)
	table := pgx.Identifier{b.schema, "idempotency"}.Sanitize()
	blocker, err := b.pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = blocker.Rollback(ctx) }()
	_, err = blocker.Exec(ctx, "INSERT INTO "+table+" (scope, key, state, token, lease_until) VALUES ('s', 'k', 'in_progress', 1, now())")
	require.NoError(t, err)

	bctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := idem.Begin(bctx, "s", "k", "", time.Minute)
		done <- err
	}()
	waiting := func() int {
		var n int
		require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND query LIKE '%`+b.schema+`%idempotency%'`).Scan(&n))
		return n
	}
	for deadline := time.Now().Add(10 * time.Second); waiting() == 0; {
		require.True(t, time.Now().Before(deadline), "the Begin's upsert never waited")
		time.Sleep(5 * time.Millisecond) // polling with a deadline
	}
	cancel()
	require.NoError(t, blocker.Rollback(ctx)) // the upsert now inserts: a claim
	require.ErrorIs(t, <-done, context.Canceled)
	for deadline := time.Now().Add(10 * time.Second); waiting() > 0; {
		require.True(t, time.Now().Before(deadline))
		time.Sleep(5 * time.Millisecond)
	}
	res, err := idem.Begin(ctx, "s", "k", "", time.Minute)
	require.NoError(t, err, "the key is not held by the caller that went away")
	require.True(t, res.Acquired)
}
