package storagefirst_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
)

func TestRetryPolicyDefaultsAreStepFunctions(t *testing.T) {
	t.Parallel()
	var p storagefirst.RetryPolicy
	require.NoError(t, p.Validate())
	require.Equal(t, 3, p.Retries())
	require.Equal(t, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second},
		[]time.Duration{p.BaseDelay(1), p.BaseDelay(2), p.BaseDelay(3)})
	err := errors.New("x")
	require.True(t, p.ShouldRetry(err, 2))
	require.False(t, p.ShouldRetry(err, 3))
	require.False(t, p.ShouldRetry(storagefirst.Permanent(err), 0))
	require.False(t, p.ShouldRetry(context.Canceled, 0))
	require.False(t, storagefirst.RetryPolicy{NoRetries: true}.ShouldRetry(err, 0))
}

func TestRetryPolicyPizzaCancel(t *testing.T) {
	t.Parallel()
	// The reference system's cancel task: interval 2 s, 6 attempts, backoff 2, capped.
	p := storagefirst.RetryPolicy{Interval: 2 * time.Second, MaxRetries: 6, BackoffRate: 2, MaxDelay: 20 * time.Second}
	var got []time.Duration
	b := p.BackOff()
	for d := b.NextBackOff(); d != backoff.Stop; d = b.NextBackOff() {
		got = append(got, d)
	}
	require.Equal(t, []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 20 * time.Second, 20 * time.Second}, got)
	b.Reset()
	require.Equal(t, 2*time.Second, b.NextBackOff())
}

func TestRetryPolicyJitterAndRetryAfter(t *testing.T) {
	t.Parallel()
	p := storagefirst.RetryPolicy{Interval: time.Second, Jitter: storagefirst.JitterFull}
	for range 100 {
		d := p.Delay(3, nil)
		require.GreaterOrEqual(t, d, time.Duration(0))
		require.LessOrEqual(t, d, 4*time.Second)
	}
	require.Equal(t, 9*time.Second, p.Delay(1, storagefirst.RetryAfter(errors.New("slow down"), 9*time.Second)))
}

func TestRetryPolicyValidate(t *testing.T) {
	t.Parallel()
	for _, p := range []storagefirst.RetryPolicy{
		{Interval: -1}, {MaxRetries: -1}, {NoRetries: true, MaxRetries: 2}, {BackoffRate: 0.5}, {MaxDelay: -1}, {Jitter: "HALF"},
	} {
		require.Error(t, p.Validate(), "%+v", p)
	}
}

func TestRetryMiddlewareWaitsOnTheClock(t *testing.T) {
	t.Parallel()
	clock := sftest.NewFakeClock(time.Now())
	calls := 0
	var waits []time.Duration
	h := storagefirst.Chain(storagefirst.HandlerFunc(func(context.Context, storagefirst.Envelope) error {
		calls++
		if calls < 3 {
			return errors.New("flaky")
		}
		return nil
	}), retry(t, storagefirst.RetryConfig{
		Policy: storagefirst.RetryPolicy{Interval: time.Second, MaxRetries: 5},
		Clock:  clock,
		OnRetry: func(_ context.Context, _ storagefirst.Envelope, _ error, _ int, wait time.Duration) {
			waits = append(waits, wait)
		},
	}))
	done := make(chan error, 1)
	go func() { done <- h.Handle(context.Background(), storagefirst.Envelope{ID: "e"}) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, clock.WaitForWaiters(ctx, 1))
	clock.Advance(time.Second)
	require.NoError(t, clock.WaitForWaiters(ctx, 1))
	clock.Advance(2 * time.Second)
	require.NoError(t, <-done)
	require.Equal(t, 3, calls)
	require.Equal(t, []time.Duration{time.Second, 2 * time.Second}, waits)
}

func TestRetryMiddlewareStopsOnPermanentAndExhaustion(t *testing.T) {
	t.Parallel()
	calls := 0
	perm := storagefirst.Permanentf("bad input")
	h := retry(t, storagefirst.RetryConfig{})(storagefirst.HandlerFunc(func(context.Context, storagefirst.Envelope) error {
		calls++
		return perm
	}))
	require.ErrorIs(t, h.Handle(context.Background(), storagefirst.Envelope{}), perm)
	require.Equal(t, 1, calls)

	calls = 0
	flaky := errors.New("flaky")
	h = retry(t, storagefirst.RetryConfig{Policy: storagefirst.RetryPolicy{Interval: time.Nanosecond, MaxRetries: 2}})(
		storagefirst.HandlerFunc(func(context.Context, storagefirst.Envelope) error { calls++; return flaky }))
	require.ErrorIs(t, h.Handle(context.Background(), storagefirst.Envelope{}), flaky)
	require.Equal(t, 3, calls, "first attempt plus two retries")
}

func TestRetryMiddlewareNeverSleepsPastTheDeadline(t *testing.T) {
	t.Parallel()
	clock := sftest.NewFakeClock(time.Now())
	flaky := errors.New("flaky")
	calls := 0
	h := retry(t, storagefirst.RetryConfig{Clock: clock, Policy: storagefirst.RetryPolicy{Interval: time.Minute}})(
		storagefirst.HandlerFunc(func(context.Context, storagefirst.Envelope) error { calls++; return flaky }))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// The first wait (1 min) ends after the deadline: the last error comes back at once.
	require.ErrorIs(t, h.Handle(ctx, storagefirst.Envelope{}), flaky)
	require.Equal(t, 1, calls)
	require.Zero(t, clock.Waiters())
}

func TestRetryMiddlewareCancelledWhileWaiting(t *testing.T) {
	t.Parallel()
	clock := sftest.NewFakeClock(time.Now())
	flaky := errors.New("flaky")
	h := retry(t, storagefirst.RetryConfig{Clock: clock})(
		storagefirst.HandlerFunc(func(context.Context, storagefirst.Envelope) error { return flaky }))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Handle(ctx, storagefirst.Envelope{}) }()
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	require.NoError(t, clock.WaitForWaiters(wctx, 1))
	cancel()
	err := <-done
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, err, flaky)
}

// MaxRetries counts retries, zero meaning the default; NoRetries means none.
func TestRetryPolicyCountsRetries(t *testing.T) {
	t.Parallel()
	require.Equal(t, storagefirst.RetryMaxRetriesDefault, storagefirst.RetryPolicy{}.Retries())
	require.Equal(t, 5, storagefirst.RetryPolicy{MaxRetries: 5}.Retries())
	require.Equal(t, 0, storagefirst.RetryPolicy{NoRetries: true}.Retries())
	err := errors.New("x")
	require.True(t, storagefirst.RetryPolicy{MaxRetries: 1}.ShouldRetry(err, 0))
	require.False(t, storagefirst.RetryPolicy{MaxRetries: 1}.ShouldRetry(err, 1), "2 attempts in all")
}
