package sftest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// CompletionPath is a way a store records the outcome of a claim other than
// IdempotencyStore.Complete: in the caller's transaction (pgstore's and
// sqlitestore's CompleteTx and CompleteFromContext) or in a batch of statements
// (pgstore's CompleteBatch).
type CompletionPath struct {
	// Name names the path in subtest names.
	Name string
	// Complete records a success for the claim in ctx (storagefirst.ClaimFromContext,
	// placed there by the Idempotent middleware or storagefirst.WithClaim), giving
	// no TTL of its own where the path takes one, and commits. It returns the
	// store's error (one wrapping storagefirst.ErrLeaseLost when the claim was
	// taken over).
	Complete func(ctx context.Context) error
}

// IdempotencyCompletionPaths is implemented by an IdempotencyStore under test (in
// practice a wrapper its test builds around it) that has completion paths beyond
// Complete. RunIdempotencySuite runs each of them, as well as Complete, through its
// TTL and fencing cases.
type IdempotencyCompletionPaths interface {
	IdempotencyCompletionPaths() []CompletionPath
}

// completionPaths returns Complete, with the claim taken from the context and no
// TTL of its own, followed by the store's other paths.
func completionPaths(s storagefirst.IdempotencyStore) []CompletionPath {
	paths := []CompletionPath{{Name: "Complete", Complete: func(ctx context.Context) error {
		c, ok := storagefirst.ClaimFromContext(ctx)
		if !ok {
			return errors.New("sftest: no claim in the context")
		}
		return s.Complete(ctx, c, storagefirst.Outcome{}, 0)
	}}}
	if p, ok := s.(IdempotencyCompletionPaths); ok {
		paths = append(paths, p.IdempotencyCompletionPaths()...)
	}
	return paths
}

// testIdemClaims runs the cases on the life of a claim: the TTL it carries, its
// renewal, and the fencing of its completions, on every completion path.
func testIdemClaims(t *testing.T, s storagefirst.IdempotencyStore) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, s storagefirst.IdempotencyStore)
	}{
		{"TTLTravelsWithTheClaim", testIdemTTLOnEveryPath},
		{"CompletionAfterExpiryBeforeTakeover", testIdemCompleteAfterExpiry},
		{"CompletionAfterTakeoverIsFenced", testIdemCompleteAfterTakeover},
		{"ExtendKeepsTheClaim", testIdemExtend},
		{"RenewalKeepsASlowHolder", testIdemRenewal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, s)
		})
	}
}

// testIdemTTLOnEveryPath: whichever way the handler's outcome is recorded, the
// record is kept for the middleware's configured TTL, shorter or longer than the
// default, not for the default.
func testIdemTTLOnEveryPath(t *testing.T, s storagefirst.IdempotencyStore) {
	paths := append([]CompletionPath{{Name: "Middleware", Complete: func(context.Context) error { return nil }}},
		completionPaths(s)...)
	for _, ttl := range []time.Duration{time.Hour, 72 * time.Hour} {
		for _, p := range paths {
			t.Run(fmt.Sprintf("%s/%v", p.Name, ttl), func(t *testing.T) {
				ctx := suiteCtx(t)
				env, err := storagefirst.NewEnvelope("test", []byte(`{}`))
				require.NoError(t, err)
				h := idempotent(t, storagefirst.IdempotentConfig{Store: s, Scope: "ttl", TTL: ttl})(
					storagefirst.HandlerFunc(func(ctx context.Context, _ storagefirst.Envelope) error { return p.Complete(ctx) }))
				before := time.Now()
				require.NoError(t, h.Handle(ctx, env))
				after := time.Now()
				r, err := s.Get(ctx, "ttl", env.Key())
				require.NoError(t, err)
				require.Equal(t, storagefirst.IdempotencyCompleted, r.State)
				// A minute of slack for a store on its own clock (Postgres).
				require.WithinRange(t, r.ExpiresAt, before.Add(ttl-time.Minute), after.Add(ttl+time.Minute),
					"the record is kept for the configured TTL")
			})
		}
	}
}

// waitPast returns once the wall clock has passed at (and a margin for a store on
// its own clock on the same machine).
func waitPast(t *testing.T, ctx context.Context, at time.Time) {
	t.Helper()
	at = at.Add(20 * time.Millisecond)
	for time.Now().Before(at) {
		select {
		case <-ctx.Done():
			require.FailNow(t, "the test ran out of time waiting for a lease to run out")
		case <-time.After(min(time.Until(at), 20*time.Millisecond) + time.Millisecond):
		}
	}
}

// takeOver claims key once its lease has run out, as a second worker does.
func takeOver(t *testing.T, ctx context.Context, s storagefirst.IdempotencyStore, key string, lost storagefirst.Claim) storagefirst.Claim {
	t.Helper()
	for {
		res, err := s.Begin(ctx, "scope", key, "fp", time.Minute)
		if err == nil {
			require.True(t, res.Acquired)
			require.Greater(t, res.Claim.Token, lost.Token)
			return res.Claim
		}
		require.ErrorIs(t, err, storagefirst.ErrInProgress)
		select {
		case <-ctx.Done():
			require.FailNow(t, "the expired lease was never taken over")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// testIdemCompleteAfterExpiry: a claim whose lease ran out still holds the record
// until another worker takes it over, on every path, Release and Extend included.
func testIdemCompleteAfterExpiry(t *testing.T, s storagefirst.IdempotencyStore) {
	ctx := suiteCtx(t)
	paths := completionPaths(s)
	claims := make([]storagefirst.Claim, len(paths))
	for i, p := range paths {
		claims[i] = begin(t, ctx, s, "expired-"+p.Name, "fp", shortLease)
	}
	released := begin(t, ctx, s, "expired-release", "fp", shortLease)
	extended := begin(t, ctx, s, "expired-extend", "fp", shortLease)
	waitPast(t, ctx, extended.LeaseUntil)

	for i, p := range paths {
		c := claims[i]
		c.TTL = time.Hour
		require.NoError(t, p.Complete(storagefirst.WithClaim(ctx, c)), "path %s", p.Name)
		r, err := s.Get(ctx, "scope", c.Key)
		require.NoError(t, err)
		require.Equal(t, storagefirst.IdempotencyCompleted, r.State, "path %s", p.Name)
		require.Equal(t, c.Token, r.Token)
	}
	require.NoError(t, s.Release(ctx, released))
	r, err := s.Get(ctx, "scope", released.Key)
	require.NoError(t, err)
	require.Equal(t, storagefirst.IdempotencyReleased, r.State)

	// Extended after it ran out, the claim holds the key again.
	renewed, err := s.Extend(ctx, extended, time.Minute)
	require.NoError(t, err)
	require.True(t, renewed.SameAs(extended))
	require.True(t, renewed.LeaseUntil.After(extended.LeaseUntil))
	_, err = s.Begin(ctx, "scope", extended.Key, "fp", time.Minute)
	require.ErrorIs(t, err, storagefirst.ErrInProgress)
	require.NoError(t, s.Complete(ctx, renewed, storagefirst.Outcome{}, time.Hour))
}

// testIdemCompleteAfterTakeover: once a second worker took the key over after the
// lease ran out, the first claim can neither complete (on any path), release nor
// extend it, and the second worker's claim is untouched.
func testIdemCompleteAfterTakeover(t *testing.T, s storagefirst.IdempotencyStore) {
	ctx := suiteCtx(t)
	paths := completionPaths(s)
	claims := make([]storagefirst.Claim, len(paths))
	for i, p := range paths {
		claims[i] = begin(t, ctx, s, "taken-"+p.Name, "fp", shortLease)
	}
	waitPast(t, ctx, claims[len(claims)-1].LeaseUntil)

	for i, p := range paths {
		old := claims[i]
		current := takeOver(t, ctx, s, old.Key, old)
		require.ErrorIs(t, p.Complete(storagefirst.WithClaim(ctx, old)), storagefirst.ErrLeaseLost, "path %s", p.Name)
		require.ErrorIs(t, s.Release(ctx, old), storagefirst.ErrLeaseLost, "Release")
		_, err := s.Extend(ctx, old, time.Minute)
		require.ErrorIs(t, err, storagefirst.ErrLeaseLost, "Extend")
		r, err := s.Get(ctx, "scope", old.Key)
		require.NoError(t, err)
		require.Equal(t, storagefirst.IdempotencyInProgress, r.State, "path %s", p.Name)
		require.Equal(t, current.Token, r.Token)
		require.NoError(t, p.Complete(storagefirst.WithClaim(ctx, current)), "path %s", p.Name)
	}
}

// testIdemExtend: a claim extended in time is never taken over, however long its
// holder runs; extending a claim completed under it changes nothing; a released
// claim cannot be extended.
func testIdemExtend(t *testing.T, s storagefirst.IdempotencyStore) {
	ctx := suiteCtx(t)
	const lease = time.Second
	c := begin(t, ctx, s, "extended", "fp", lease)
	first := c.LeaseUntil
	for end := time.Now().Add(5 * lease / 2); time.Now().Before(end); {
		next, err := s.Extend(ctx, c, lease)
		require.NoError(t, err)
		require.True(t, next.SameAs(c))
		require.False(t, next.LeaseUntil.Before(c.LeaseUntil))
		c = next
		res, err := s.Begin(ctx, "scope", "extended", "fp", time.Minute)
		require.ErrorIs(t, err, storagefirst.ErrInProgress, "the holder extends in time")
		require.Equal(t, c.Token, res.Record.Token)
		select {
		case <-ctx.Done():
			require.FailNow(t, "timed out")
		case <-time.After(lease / 10):
		}
	}
	require.True(t, c.LeaseUntil.After(first.Add(lease)), "the lease moved on")
	require.NoError(t, s.Complete(ctx, c, storagefirst.Outcome{}, time.Hour))
	same, err := s.Extend(ctx, c, lease)
	require.NoError(t, err, "a claim completed under this token has nothing left to hold")
	require.True(t, same.SameAs(c))
	r, err := s.Get(ctx, "scope", "extended")
	require.NoError(t, err)
	require.Equal(t, storagefirst.IdempotencyCompleted, r.State)

	rel := begin(t, ctx, s, "released", "fp", time.Minute)
	require.NoError(t, s.Release(ctx, rel))
	_, err = s.Extend(ctx, rel, time.Minute)
	require.ErrorIs(t, err, storagefirst.ErrLeaseLost)
	_, err = s.Extend(ctx, storagefirst.Claim{Scope: "scope", Key: "never", Token: rel.Token}, time.Minute)
	require.ErrorIs(t, err, storagefirst.ErrLeaseLost, "no record, no claim")
}

// testIdemRenewal: the Idempotent middleware keeps the claim of a handler that runs
// for more than two leases; every duplicate meanwhile finds the key in progress under the
// holder's token, and the holder's completion succeeds.
func testIdemRenewal(t *testing.T, s storagefirst.IdempotencyStore) {
	ctx := suiteCtx(t)
	const lease = 2 * time.Second // renewed every third: room for a slow store
	started := make(chan storagefirst.Claim, 1)
	finish := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(finish) }) }
	t.Cleanup(release)
	h := idempotent(t, storagefirst.IdempotentConfig{Store: s, Scope: "scope", Lease: lease})(
		storagefirst.HandlerFunc(func(ctx context.Context, _ storagefirst.Envelope) error {
			c, _ := storagefirst.ClaimFromContext(ctx)
			started <- c
			select {
			case <-finish:
				return nil
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}))
	env, err := storagefirst.NewEnvelope("test", []byte(`{}`))
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- h.Handle(ctx, env) }()
	var c storagefirst.Claim
	select {
	case c = <-started:
	case <-ctx.Done():
		require.FailNow(t, "the handler never started")
	}
	for end := time.Now().Add(5 * lease / 2); time.Now().Before(end); {
		res, err := s.Begin(ctx, "scope", env.Key(), storagefirst.PayloadFingerprint(env), lease)
		require.ErrorIs(t, err, storagefirst.ErrInProgress, "a slow but healthy holder keeps its key")
		require.Equal(t, c.Token, res.Record.Token)
		select {
		case <-ctx.Done():
			require.FailNow(t, "timed out")
		case <-time.After(lease / 40):
		}
	}
	release()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-ctx.Done():
		require.FailNow(t, "the handler never returned")
	}
	r, err := s.Get(ctx, "scope", env.Key())
	require.NoError(t, err)
	require.Equal(t, storagefirst.IdempotencyCompleted, r.State)
	require.Equal(t, c.Token, r.Token)
}

// idempotent returns the Idempotent middleware of cfg, failing t on an invalid cfg.
func idempotent(t *testing.T, cfg storagefirst.IdempotentConfig) storagefirst.Middleware {
	t.Helper()
	mw, err := storagefirst.Idempotent(cfg)
	require.NoError(t, err)
	return mw
}
