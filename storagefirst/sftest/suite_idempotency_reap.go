package sftest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// Reaper is an IdempotencyStore that deletes expired records in bounded steps, as
// pgstore's, sqlitestore's and MemoryIdempotencyStore do.
type Reaper interface {
	Reap(ctx context.Context, staleAfter time.Duration, limit int) (int64, error)
}

// testIdemReap: Reap deletes expired completed records and in-progress ones stale
// for staleAfter, at most limit per call, and nothing that still counts.
func testIdemReap(t *testing.T, s storagefirst.IdempotencyStore) {
	r, ok := s.(Reaper)
	if !ok {
		t.Skip("store has no Reap")
	}
	ctx := suiteCtx(t)
	begin(t, ctx, s, "stale", "", time.Millisecond) // first: its lease ends before the others expire
	for _, k := range []string{"old1", "old2", "old3"} {
		require.NoError(t, s.Complete(ctx, begin(t, ctx, s, k, "", time.Minute), storagefirst.Outcome{}, time.Millisecond))
	}
	require.NoError(t, s.Complete(ctx, begin(t, ctx, s, "alive", "", time.Minute), storagefirst.Outcome{}, time.Hour))
	begin(t, ctx, s, "running", "", time.Minute)
	for _, k := range []string{"old1", "old2", "old3"} { // wait out the 1 ms
		for {
			_, err := s.Get(ctx, "scope", k)
			if errors.Is(err, storagefirst.ErrNotFound) {
				break
			}
			require.NoError(t, err)
			require.NoError(t, ctx.Err(), "record %s never expired", k)
		}
	}

	for _, want := range []int64{2, 1, 0} {
		n, err := r.Reap(ctx, time.Hour, 2)
		require.NoError(t, err)
		require.Equal(t, want, n, "bounded by the limit, then what is left")
	}
	n, err := r.Reap(ctx, 0, 0)
	require.NoError(t, err)
	require.Equal(t, int64(1), n, "the in-progress record whose lease ran out")
	_, err = s.Get(ctx, "scope", "stale")
	require.ErrorIs(t, err, storagefirst.ErrNotFound)
	for _, k := range []string{"alive", "running"} {
		_, err := s.Get(ctx, "scope", k)
		require.NoError(t, err, k)
	}
}
