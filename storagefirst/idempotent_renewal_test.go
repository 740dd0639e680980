package storagefirst_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
)

// flakyExtends is an IdempotencyStore whose Extend fails while down is set, as
// when the database is unreachable.
type flakyExtends struct {
	*sftest.MemoryIdempotencyStore
	down atomic.Bool
}

var errStoreDown = errors.New("store unreachable")

func (f *flakyExtends) Extend(ctx context.Context, c storagefirst.Claim, lease time.Duration) (storagefirst.Claim, error) {
	if f.down.Load() {
		return storagefirst.Claim{}, errStoreDown
	}
	return f.MemoryIdempotencyStore.Extend(ctx, c, lease)
}

// runBlocked runs h on env in a goroutine, returning once the handler has started,
// with the channel that receives Handle's result.
func runBlocked(t *testing.T, ctx context.Context, h storagefirst.Handler, env storagefirst.Envelope, started <-chan storagefirst.Claim) (storagefirst.Claim, <-chan error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- h.Handle(context.Background(), env) }()
	select {
	case c := <-started:
		return c, done
	case <-ctx.Done():
		require.FailNow(t, "the handler never started")
	}
	return storagefirst.Claim{}, nil
}

// TestIdempotentRenewsTheClaimWhileTheHandlerRuns: a handler that runs for many
// leases keeps its key; duplicates meanwhile find it in progress, and the claim
// in the handler's context shows the renewed lease.
func TestIdempotentRenewsTheClaimWhileTheHandlerRuns(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	clock := sftest.NewFakeClock(time.Now())
	store := sftest.NewMemoryIdempotencyStore(clock)
	const lease = 30 * time.Second
	started, finish := make(chan storagefirst.Claim, 1), make(chan struct{})
	var last atomic.Value
	h := idempotent(t, storagefirst.IdempotentConfig{Store: store, Lease: lease, Clock: clock})(
		storagefirst.HandlerFunc(func(ctx context.Context, _ storagefirst.Envelope) error {
			c, _ := storagefirst.ClaimFromContext(ctx)
			started <- c
			<-finish
			c, _ = storagefirst.ClaimFromContext(ctx)
			last.Store(c)
			return nil
		}))
	env := newEnv(t, `{}`)
	first, done := runBlocked(t, ctx, h, env, started)
	for range 10 { // 100 s: more than three leases
		require.NoError(t, clock.WaitForWaiters(ctx, 1)) // the renewal waits for its tick
		clock.Advance(lease / 3)
		require.NoError(t, clock.WaitForWaiters(ctx, 1)) // it renewed and waits again
		res, err := store.Begin(ctx, storagefirst.IdempotencyScopeDefault, env.Key(), "", time.Minute)
		require.ErrorIs(t, err, storagefirst.ErrInProgress, "at %v", clock.Now().Sub(first.LeaseUntil.Add(-lease)))
		require.Equal(t, first.Token, res.Record.Token)
		require.Equal(t, clock.Now().Add(lease), res.Record.LeaseUntil, "renewed at this tick")
	}
	close(finish)
	require.NoError(t, <-done)
	c := last.Load().(storagefirst.Claim)
	require.True(t, c.SameAs(first))
	require.Equal(t, clock.Now().Add(lease), c.LeaseUntil, "the handler sees the renewed lease")
	r, err := store.Get(ctx, storagefirst.IdempotencyScopeDefault, env.Key())
	require.NoError(t, err)
	require.Equal(t, storagefirst.IdempotencyCompleted, r.State)
}

// TestIdempotentLostClaimStopsTheHandler: when the store is unreachable for a whole
// lease and another worker takes the key over, the next renewal finds the claim
// lost: the handler's context is cancelled with ErrLeaseLost as its cause, the
// middleware answers a retryable error wrapping ErrLeaseLost, and the other
// worker's claim is untouched.
func TestIdempotentLostClaimStopsTheHandler(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	clock := sftest.NewFakeClock(time.Now())
	store := &flakyExtends{MemoryIdempotencyStore: sftest.NewMemoryIdempotencyStore(clock)}
	const lease = 30 * time.Second
	started := make(chan storagefirst.Claim, 1)
	var cause atomic.Value
	h := idempotent(t, storagefirst.IdempotentConfig{Store: store, Lease: lease, Clock: clock})(
		storagefirst.HandlerFunc(func(ctx context.Context, _ storagefirst.Envelope) error {
			c, _ := storagefirst.ClaimFromContext(ctx)
			started <- c
			<-ctx.Done()
			cause.Store(context.Cause(ctx))
			return ctx.Err()
		}))
	env := newEnv(t, `{}`)
	first, done := runBlocked(t, ctx, h, env, started)
	store.down.Store(true)
	for range 3 { // the whole lease without a renewal
		require.NoError(t, clock.WaitForWaiters(ctx, 1))
		clock.Advance(lease / 3)
	}
	require.NoError(t, clock.WaitForWaiters(ctx, 1))
	res, err := store.Begin(ctx, storagefirst.IdempotencyScopeDefault, env.Key(), "", time.Hour) // a real takeover
	require.NoError(t, err)
	require.True(t, res.Acquired)
	require.Greater(t, res.Claim.Token, first.Token)
	store.down.Store(false)
	clock.Advance(lease / 3)

	select {
	case err := <-done:
		require.ErrorIs(t, err, storagefirst.ErrLeaseLost)
		require.ErrorIs(t, err, context.Canceled, "the handler's own error is kept")
		require.True(t, storagefirst.IsRetryable(err))
	case <-ctx.Done():
		require.FailNow(t, "the handler of a lost claim was never stopped")
	}
	require.ErrorIs(t, cause.Load().(error), storagefirst.ErrLeaseLost)
	r, err := store.Get(ctx, storagefirst.IdempotencyScopeDefault, env.Key())
	require.NoError(t, err)
	require.Equal(t, storagefirst.IdempotencyInProgress, r.State)
	require.Equal(t, res.Claim.Token, r.Token, "the new holder keeps the key")
}

// TestIdempotentRenewalStopsWithTheHandlersContext: once the handler's context has
// ended (its deadline, a shutdown), the claim is no longer renewed, so a handler
// that ignores its context cannot hold the key forever.
func TestIdempotentRenewalStopsWithTheHandlersContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	clock := sftest.NewFakeClock(time.Now())
	store := sftest.NewMemoryIdempotencyStore(clock)
	const lease = 30 * time.Second
	started, finish := make(chan storagefirst.Claim, 1), make(chan struct{})
	hctx, stopHandler := context.WithCancel(context.Background())
	h := idempotent(t, storagefirst.IdempotentConfig{Store: store, Lease: lease, Clock: clock})(
		storagefirst.HandlerFunc(func(ctx context.Context, _ storagefirst.Envelope) error {
			c, _ := storagefirst.ClaimFromContext(ctx)
			started <- c
			<-finish // ignores its context
			return nil
		}))
	env := newEnv(t, `{}`)
	done := make(chan error, 1)
	go func() { done <- h.Handle(hctx, env) }()
	var first storagefirst.Claim
	select {
	case first = <-started:
	case <-ctx.Done():
		require.FailNow(t, "the handler never started")
	}
	require.NoError(t, clock.WaitForWaiters(ctx, 1))
	stopHandler()
	// The renewal loop leaves; its timer stays registered but nothing renews.
	clock.Advance(lease)
	res, err := store.Begin(ctx, storagefirst.IdempotencyScopeDefault, env.Key(), "", time.Minute)
	require.NoError(t, err, "the key is free once the lease ran out")
	require.True(t, res.Acquired)
	close(finish)
	err = <-done
	require.ErrorIs(t, err, storagefirst.ErrLeaseLost, "the late holder's completion is fenced off")
	require.True(t, storagefirst.IsRetryable(err))
	r, err := store.Get(ctx, storagefirst.IdempotencyScopeDefault, env.Key())
	require.NoError(t, err)
	require.Equal(t, res.Claim.Token, r.Token)
	require.Greater(t, r.Token, first.Token)
}

// TestIdempotentClaimCarriesTheConfiguredTTL: the claim in the handler's context
// carries the middleware's TTL (the default when none is configured), which is what
// the stores' in-handler completions record.
func TestIdempotentClaimCarriesTheConfiguredTTL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ configured, want time.Duration }{
		{0, storagefirst.IdempotencyTTLDefault},
		{7 * 24 * time.Hour, 7 * 24 * time.Hour},
	} {
		store := sftest.NewMemoryIdempotencyStore(nil)
		var got time.Duration
		h := idempotent(t, storagefirst.IdempotentConfig{Store: store, TTL: tc.configured})(
			storagefirst.HandlerFunc(func(ctx context.Context, _ storagefirst.Envelope) error {
				c, ok := storagefirst.ClaimFromContext(ctx)
				require.True(t, ok)
				got = c.TTL
				return nil
			}))
		require.NoError(t, h.Handle(context.Background(), newEnv(t, `{}`)))
		require.Equal(t, tc.want, got)
	}
}
