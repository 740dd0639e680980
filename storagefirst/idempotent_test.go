package storagefirst_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
)

func newEnv(t *testing.T, payload string) storagefirst.Envelope {
	t.Helper()
	env, err := storagefirst.NewEnvelope("t", []byte(payload))
	require.NoError(t, err)
	return env
}

func TestIdempotentRunsOncePerKey(t *testing.T) {
	t.Parallel()
	store := sftest.NewMemoryIdempotencyStore(nil)
	var calls atomic.Int32
	h := idempotent(t, storagefirst.IdempotentConfig{Store: store, Scope: "orders"})(
		storagefirst.HandlerFunc(func(ctx context.Context, env storagefirst.Envelope) error {
			c, ok := storagefirst.ClaimFromContext(ctx)
			require.True(t, ok)
			require.Equal(t, env.Key(), c.Key)
			calls.Add(1)
			return nil
		}))
	ctx := context.Background()
	env := newEnv(t, `{"username":"lee"}`)
	for range 3 {
		require.NoError(t, h.Handle(ctx, env))
	}
	require.Equal(t, int32(1), calls.Load())
	r, err := store.Get(ctx, "orders", env.ID)
	require.NoError(t, err)
	require.Equal(t, storagefirst.IdempotencyCompleted, r.State)

	// Same key, different payload: permanent.
	other := newEnv(t, `{"username":"bob"}`)
	other.IdempotencyKey = env.ID
	err = h.Handle(ctx, other)
	require.ErrorIs(t, err, storagefirst.ErrFingerprintMismatch)
	require.True(t, storagefirst.IsPermanent(err))
}

func TestIdempotentStoresPermanentAndReleasesRetryable(t *testing.T) {
	t.Parallel()
	store := sftest.NewMemoryIdempotencyStore(nil)
	ctx := context.Background()
	var calls atomic.Int32
	result := storagefirst.Permanentf("no such pizza")
	h := idempotent(t, storagefirst.IdempotentConfig{Store: store})(
		storagefirst.HandlerFunc(func(context.Context, storagefirst.Envelope) error {
			calls.Add(1)
			return result
		}))
	env := newEnv(t, `{}`)
	require.ErrorIs(t, h.Handle(ctx, env), result)
	err := h.Handle(ctx, env)
	var sf *storagefirst.StoredFailureError
	require.ErrorAs(t, err, &sf)
	require.Equal(t, "no such pizza", sf.Message)
	require.True(t, storagefirst.IsPermanent(err))
	require.Equal(t, int32(1), calls.Load())

	flaky := errors.New("db down")
	result = flaky
	env2 := newEnv(t, `{}`)
	require.ErrorIs(t, h.Handle(ctx, env2), flaky)
	r, err := store.Get(ctx, storagefirst.IdempotencyScopeDefault, env2.ID)
	require.NoError(t, err)
	require.Equal(t, storagefirst.IdempotencyReleased, r.State)
	result = nil
	require.NoError(t, h.Handle(ctx, env2))
	require.Equal(t, int32(3), calls.Load())
}

func TestIdempotentConcurrentDuplicateIsInProgress(t *testing.T) {
	t.Parallel()
	store := sftest.NewMemoryIdempotencyStore(nil)
	entered, release := make(chan struct{}), make(chan struct{})
	calls := 0
	h := idempotent(t, storagefirst.IdempotentConfig{Store: store, Lease: time.Minute, InProgressWait: -1})(
		storagefirst.HandlerFunc(func(context.Context, storagefirst.Envelope) error {
			calls++
			close(entered)
			<-release
			return nil
		}))
	env := newEnv(t, `{}`)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); require.NoError(t, h.Handle(context.Background(), env)) }()
	<-entered
	err := h.Handle(context.Background(), env) // told not to wait
	require.ErrorIs(t, err, storagefirst.ErrInProgress)
	require.True(t, storagefirst.IsRetryable(err))
	d, ok := storagefirst.RetryAfterOf(err)
	require.True(t, ok)
	require.InDelta(t, time.Minute.Seconds(), d.Seconds(), 5)
	close(release)
	wg.Wait()
}

func TestIdempotentLeaseFollowsTheDeadline(t *testing.T) {
	t.Parallel()
	store := sftest.NewMemoryIdempotencyStore(nil)
	h := idempotent(t, storagefirst.IdempotentConfig{Store: store})(
		storagefirst.HandlerFunc(func(ctx context.Context, _ storagefirst.Envelope) error {
			c, _ := storagefirst.ClaimFromContext(ctx)
			dl, _ := ctx.Deadline()
			require.WithinDuration(t, dl, c.LeaseUntil, 2*time.Second)
			return nil
		}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, h.Handle(ctx, newEnv(t, `{}`)))
}

func TestIdempotentLetsAReplayRunAfterAStoredFailure(t *testing.T) {
	t.Parallel()
	store := sftest.NewMemoryIdempotencyStore(nil)
	ctx := context.Background()
	fixed := false
	calls := 0
	h := idempotent(t, storagefirst.IdempotentConfig{Store: store})(
		storagefirst.HandlerFunc(func(context.Context, storagefirst.Envelope) error {
			calls++
			if !fixed {
				return storagefirst.Permanentf("bug")
			}
			return nil
		}))
	env := newEnv(t, `{}`)
	require.Error(t, h.Handle(ctx, env))
	fixed = true
	require.Error(t, h.Handle(ctx, env), "a plain redelivery gets the stored failure")
	require.Equal(t, 1, calls)
	replay := storagefirst.MarkReplayed(env, time.Now())
	require.NoError(t, h.Handle(ctx, replay), "a replay runs again")
	require.NoError(t, h.Handle(ctx, replay), "and is then done")
	require.Equal(t, 2, calls)
}

func TestIdempotentDuplicateWaitsForTheHolder(t *testing.T) {
	t.Parallel()
	store := sftest.NewMemoryIdempotencyStore(nil)
	clock := sftest.NewFakeClock(time.Now())
	entered, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	h := idempotent(t, storagefirst.IdempotentConfig{Store: store, Clock: clock})(
		storagefirst.HandlerFunc(func(context.Context, storagefirst.Envelope) error {
			if calls.Add(1) == 1 {
				close(entered)
				<-release
			}
			return nil
		}))
	env := newEnv(t, `{}`)
	first := make(chan error, 1)
	go func() { first <- h.Handle(context.Background(), env) }()
	<-entered
	second := make(chan error, 1)
	go func() { second <- h.Handle(context.Background(), env) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, clock.WaitForWaiters(ctx, 2)) // the holder's renewal, and the duplicate polling
	close(release)
	require.NoError(t, <-first)
	for {
		clock.Advance(time.Second)
		select {
		case err := <-second:
			require.NoError(t, err, "skipped once the holder completed")
			require.Equal(t, int32(1), calls.Load())
			return
		case <-time.After(time.Millisecond):
		}
	}
}
