package pgstore_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/pgstore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// TestBeginBatchRepeatedKeys: one batched claim holding a key twice (two
// deliveries with one idempotency key) acquires it once, the first time, and
// the others of the batch normally; a key with a live record is not acquired.
func TestBeginBatchRepeatedKeys(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := testCtx(t)
	res, err := b.store.Idempotency().Begin(ctx, "s", "held", "", time.Minute)
	require.NoError(t, err)
	require.True(t, res.Acquired)
	acq, toks, err := pgstore.BeginBatch(ctx, b.store, "s", "z", "a", "z", "held", "m", "a")
	require.NoError(t, err)
	require.Equal(t, []bool{true, true, false, false, true, false}, acq)
	seen := map[int64]bool{res.Claim.Token: true}
	for i, ok := range acq {
		if ok {
			require.False(t, seen[toks[i]], "tokens are unique")
			require.Greater(t, toks[i], res.Claim.Token)
			seen[toks[i]] = true
		}
	}
}

// TestBeginConcurrent: many concurrent Begins (batched together) of distinct keys
// all acquire, of one key exactly one acquires and the others find it in progress.
func TestBeginConcurrent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := testCtx(t)
	idem := b.store.Idempotency()
	const n = 64
	var wg sync.WaitGroup
	errs := make([]error, 2*n)
	acquired := make([]bool, 2*n)
	for i := range 2 * n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("k%d", i)
			if i >= n {
				key = "shared"
			}
			r, err := idem.Begin(ctx, "s", key, "fp", time.Minute)
			acquired[i], errs[i] = r.Acquired, err
		}()
	}
	wg.Wait()
	shared := 0
	for i := range 2 * n {
		if i < n {
			require.NoError(t, errs[i])
			require.True(t, acquired[i])
			continue
		}
		if acquired[i] {
			shared++
			require.NoError(t, errs[i])
		} else {
			require.ErrorIs(t, errs[i], storagefirst.ErrInProgress)
		}
	}
	require.Equal(t, 1, shared)
}
