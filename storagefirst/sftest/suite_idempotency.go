package sftest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// RunIdempotencySuite runs the IdempotencyStore conformance suite: every subtest
// gets a fresh, empty store from newStore and runs in parallel with the others.
func RunIdempotencySuite(t *testing.T, newStore func(t *testing.T) storagefirst.IdempotencyStore) {
	tests := []struct {
		name string
		run  func(t *testing.T, s storagefirst.IdempotencyStore)
	}{
		{"BeginCompleteRepeat", testIdemBeginComplete},
		{"InProgressIsReported", testIdemInProgress},
		{"FingerprintMismatch", testIdemFingerprint},
		{"ReleaseLetsTheNextClaim", testIdemRelease},
		{"ExpiredLeaseIsTakenOverAndFenced", testIdemLeaseExpiry},
		{"CompleteIsIdempotentForItsToken", testIdemCompleteTwice},
		{"CompletedRecordExpires", testIdemTTL},
		{"ConcurrentDuplicatesClaimOnce", testIdemConcurrent},
		{"ScopesAreSeparate", testIdemScopes},
		{"StoredFailureOutcome", testIdemStoredFailure},
		{"Delete", testIdemDelete},
		{"ReapIsBounded", testIdemReap},
		{"Claims", testIdemClaims},
		{"CanceledContextChangesNothing", testIdemCanceledContext},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newStore(t))
		})
	}
}

func begin(t *testing.T, ctx context.Context, s storagefirst.IdempotencyStore, key, fp string, lease time.Duration) storagefirst.Claim {
	t.Helper()
	res, err := s.Begin(ctx, "scope", key, fp, lease)
	require.NoError(t, err)
	require.True(t, res.Acquired)
	require.Positive(t, res.Claim.Token)
	require.Equal(t, key, res.Claim.Key)
	return res.Claim
}

func testIdemBeginComplete(t *testing.T, s storagefirst.IdempotencyStore) {
	ctx := suiteCtx(t)
	_, err := s.Get(ctx, "scope", "k")
	require.ErrorIs(t, err, storagefirst.ErrNotFound)
	c := begin(t, ctx, s, "k", "fp", time.Minute)
	r, err := s.Get(ctx, "scope", "k")
	require.NoError(t, err)
	require.Equal(t, storagefirst.IdempotencyInProgress, r.State)
	require.Equal(t, c.Token, r.Token)
	require.NoError(t, s.Complete(ctx, c, storagefirst.Outcome{Result: []byte(`{"id":"42"}`)}, time.Hour))

	res, err := s.Begin(ctx, "scope", "k", "fp", time.Minute)
	require.NoError(t, err)
	require.False(t, res.Acquired)
	require.Equal(t, storagefirst.IdempotencyCompleted, res.Record.State)
	require.JSONEq(t, `{"id":"42"}`, string(res.Record.Outcome.Result))
	require.False(t, res.Record.Outcome.Failed())
	require.True(t, res.Record.ExpiresAt.After(time.Now().Add(50*time.Minute)))
}

func testIdemInProgress(t *testing.T, s storagefirst.IdempotencyStore) {
	ctx := suiteCtx(t)
	c := begin(t, ctx, s, "k", "fp", time.Minute)
	res, err := s.Begin(ctx, "scope", "k", "fp", time.Minute)
	require.ErrorIs(t, err, storagefirst.ErrInProgress)
	require.False(t, res.Acquired)
	require.Equal(t, c.Token, res.Record.Token)
	require.True(t, res.Record.LeaseUntil.After(time.Now().Add(30*time.Second)))
}

func testIdemFingerprint(t *testing.T, s storagefirst.IdempotencyStore) {
	ctx := suiteCtx(t)
	c := begin(t, ctx, s, "k", "fp-a", time.Minute)
	_, err := s.Begin(ctx, "scope", "k", "fp-b", time.Minute)
	require.ErrorIs(t, err, storagefirst.ErrFingerprintMismatch)
	require.NoError(t, s.Complete(ctx, c, storagefirst.Outcome{}, time.Hour))
	res, err := s.Begin(ctx, "scope", "k", "fp-b", time.Minute)
	require.ErrorIs(t, err, storagefirst.ErrFingerprintMismatch)
	require.Equal(t, "fp-a", res.Record.Fingerprint)
	// An empty fingerprint skips the check.
	res, err = s.Begin(ctx, "scope", "k", "", time.Minute)
	require.NoError(t, err)
	require.False(t, res.Acquired)
}

func testIdemRelease(t *testing.T, s storagefirst.IdempotencyStore) {
	ctx := suiteCtx(t)
	c1 := begin(t, ctx, s, "k", "fp", time.Minute)
	require.NoError(t, s.Release(ctx, c1))
	r, err := s.Get(ctx, "scope", "k")
	require.NoError(t, err)
	require.Equal(t, storagefirst.IdempotencyReleased, r.State)
	c2 := begin(t, ctx, s, "k", "other-fp", time.Minute) // a released key keeps no fingerprint
	require.Greater(t, c2.Token, c1.Token)
	require.ErrorIs(t, s.Complete(ctx, c1, storagefirst.Outcome{}, time.Hour), storagefirst.ErrLeaseLost)
	require.ErrorIs(t, s.Release(ctx, c1), storagefirst.ErrLeaseLost)
	require.NoError(t, s.Complete(ctx, c2, storagefirst.Outcome{}, time.Hour))
}

func testIdemLeaseExpiry(t *testing.T, s storagefirst.IdempotencyStore) {
	ctx := suiteCtx(t)
	c1 := begin(t, ctx, s, "k", "fp", shortLease)
	var c2 storagefirst.Claim
	for {
		res, err := s.Begin(ctx, "scope", "k", "fp", time.Minute)
		if err == nil {
			require.True(t, res.Acquired)
			c2 = res.Claim
			break
		}
		require.ErrorIs(t, err, storagefirst.ErrInProgress)
		select {
		case <-ctx.Done():
			require.FailNow(t, "the expired lease was never taken over")
		case <-time.After(10 * time.Millisecond):
		}
	}
	require.Greater(t, c2.Token, c1.Token)
	// The first worker woke up late: it is fenced off.
	require.ErrorIs(t, s.Complete(ctx, c1, storagefirst.Outcome{}, time.Hour), storagefirst.ErrLeaseLost)
	require.ErrorIs(t, s.Release(ctx, c1), storagefirst.ErrLeaseLost)
	require.NoError(t, s.Complete(ctx, c2, storagefirst.Outcome{}, time.Hour))
}

func testIdemCompleteTwice(t *testing.T, s storagefirst.IdempotencyStore) {
	ctx := suiteCtx(t)
	c := begin(t, ctx, s, "k", "fp", time.Minute)
	require.NoError(t, s.Complete(ctx, c, storagefirst.Outcome{Result: []byte(`1`)}, time.Hour))
	require.NoError(t, s.Complete(ctx, c, storagefirst.Outcome{Result: []byte(`2`)}, time.Hour))
	r, err := s.Get(ctx, "scope", "k")
	require.NoError(t, err)
	require.Equal(t, "1", string(r.Outcome.Result), "a repeated Complete changes nothing")
	other := c
	other.Token++
	require.ErrorIs(t, s.Complete(ctx, other, storagefirst.Outcome{}, time.Hour), storagefirst.ErrLeaseLost)
	require.ErrorIs(t, s.Release(ctx, c), storagefirst.ErrLeaseLost)
}

func testIdemTTL(t *testing.T, s storagefirst.IdempotencyStore) {
	ctx := suiteCtx(t)
	c := begin(t, ctx, s, "k", "fp", time.Minute)
	require.NoError(t, s.Complete(ctx, c, storagefirst.Outcome{}, shortLease))
	for {
		res, err := s.Begin(ctx, "scope", "k", "new-fp", time.Minute)
		if err == nil && res.Acquired {
			require.Greater(t, res.Claim.Token, c.Token)
			return
		}
		if err != nil {
			require.ErrorIs(t, err, storagefirst.ErrFingerprintMismatch)
		}
		select {
		case <-ctx.Done():
			require.FailNow(t, "the completed record never expired")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func testIdemConcurrent(t *testing.T, s storagefirst.IdempotencyStore) {
	ctx := suiteCtx(t)
	const n = 16
	var acquired, inProgress atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			res, err := s.Begin(ctx, "scope", "k", "fp", time.Minute)
			switch {
			case errors.Is(err, storagefirst.ErrInProgress):
				inProgress.Add(1)
			case err == nil && res.Acquired:
				acquired.Add(1)
			default:
				t.Errorf("unexpected result %+v, %v", res, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	require.Equal(t, int32(1), acquired.Load())
	require.Equal(t, int32(n-1), inProgress.Load())
}

func testIdemScopes(t *testing.T, s storagefirst.IdempotencyStore) {
	ctx := suiteCtx(t)
	a := begin(t, ctx, s, "k", "fp", time.Minute)
	res, err := s.Begin(ctx, "other-scope", "k", "fp", time.Minute)
	require.NoError(t, err)
	require.True(t, res.Acquired)
	require.NotEqual(t, a.Token, res.Claim.Token)
}

func testIdemStoredFailure(t *testing.T, s storagefirst.IdempotencyStore) {
	ctx := suiteCtx(t)
	c := begin(t, ctx, s, "k", "fp", time.Minute)
	require.NoError(t, s.Complete(ctx, c, storagefirst.Outcome{Error: "card declined"}, time.Hour))
	res, err := s.Begin(ctx, "scope", "k", "fp", time.Minute)
	require.NoError(t, err)
	require.False(t, res.Acquired)
	require.True(t, res.Record.Outcome.Failed())
	require.Equal(t, "card declined", res.Record.Outcome.Error)
}

func testIdemDelete(t *testing.T, s storagefirst.IdempotencyStore) {
	ctx := suiteCtx(t)
	require.NoError(t, s.Delete(ctx, "scope", "none"), "deleting nothing is fine")
	c := begin(t, ctx, s, "k", "fp", time.Minute)
	require.NoError(t, s.Complete(ctx, c, storagefirst.Outcome{Error: "declined"}, time.Hour))
	require.NoError(t, s.Delete(ctx, "scope", "k"))
	_, err := s.Get(ctx, "scope", "k")
	require.ErrorIs(t, err, storagefirst.ErrNotFound)
	c2 := begin(t, ctx, s, "k", "other", time.Minute)
	require.Greater(t, c2.Token, c.Token, "tokens never repeat, even after a delete")
	require.ErrorIs(t, s.Complete(ctx, c, storagefirst.Outcome{}, time.Hour), storagefirst.ErrLeaseLost)
}
