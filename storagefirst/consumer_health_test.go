package storagefirst_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
)

// failingQueue is a MemoryQueue whose Claim fails while failing is set.
type failingQueue struct {
	*sftest.MemoryQueue
	failing atomic.Bool
	claims  atomic.Int32
}

var errNoSchema = errors.New(`relation "envelopes" does not exist`)

func (q *failingQueue) Claim(ctx context.Context, n int, lease time.Duration) ([]storagefirst.Delivery, error) {
	q.claims.Add(1)
	if q.failing.Load() {
		return nil, errNoSchema
	}
	return q.MemoryQueue.Claim(ctx, n, lease)
}

// healthLog records what OnHealthChange reported.
type healthLog struct {
	mu sync.Mutex
	hs []storagefirst.ConsumerHealth
}

func (l *healthLog) add(_ context.Context, h storagefirst.ConsumerHealth) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hs = append(l.hs, h)
}

func (l *healthLog) all() []storagefirst.ConsumerHealth {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]storagefirst.ConsumerHealth(nil), l.hs...)
}

// TestConsumerReportsAndGivesUpOnFailingClaims: failing claims show in Health and
// OnHealthChange at once, a recovery resets them, and claims failing for FailAfter
// in a row make Run return an error that says so.
func TestConsumerReportsAndGivesUpOnFailingClaims(t *testing.T) {
	t.Parallel()
	clock := sftest.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	q := &failingQueue{MemoryQueue: sftest.NewMemoryQueue(clock)}
	q.failing.Store(true)
	var log healthLog
	const poll, failAfter = time.Second, time.Minute
	c, err := storagefirst.NewConsumer(storagefirst.ConsumerConfig{
		Queue: q, Clock: clock, PollInterval: poll, FailAfter: failAfter,
		Logger:         slog.New(slog.DiscardHandler),
		Handler:        storagefirst.HandlerFunc(func(context.Context, storagefirst.Envelope) error { return nil }),
		OnHealthChange: log.add,
	})
	require.NoError(t, err)
	require.False(t, c.Health().Running)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var runErr error
	var endAt time.Time
	running, stopped := context.WithCancel(ctx)
	go func() { runErr = c.Run(ctx); endAt = clock.Now(); stopped() }()

	// step lets Run reach its wait, then moves the clock on; false once Run returned.
	step := func() bool {
		t.Helper()
		if clock.WaitForWaiters(running, 1) != nil {
			return false
		}
		clock.Advance(poll)
		return true
	}
	require.NoError(t, clock.WaitForWaiters(ctx, 1))
	h := c.Health()
	require.True(t, h.Running)
	require.False(t, h.Healthy())
	require.Equal(t, 1, h.ClaimFailures)
	require.ErrorIs(t, h.LastClaimError, errNoSchema)
	require.Equal(t, clock.Now(), h.FailingSince)

	// The queue comes back before FailAfter: healthy again.
	q.failing.Store(false)
	for !c.Health().Healthy() {
		require.True(t, step())
	}
	// It fails for good: after FailAfter of failures in a row, Run gives up.
	q.failing.Store(true)
	start := clock.Now()
	for step() {
	}
	require.NoError(t, ctx.Err(), "Run did not give up")
	require.ErrorIs(t, runErr, storagefirst.ErrClaimFailing)
	require.ErrorIs(t, runErr, errNoSchema)
	require.GreaterOrEqual(t, endAt.Sub(start), failAfter)
	require.LessOrEqual(t, endAt.Sub(start), failAfter+2*poll, "gave up soon after FailAfter")
	require.False(t, c.Health().Running)
	hs := log.all()
	require.GreaterOrEqual(t, len(hs), 5)
	require.True(t, hs[0].Healthy(), "started")
	require.Equal(t, 1, hs[1].ClaimFailures, "started failing")
	require.True(t, hs[2].Healthy(), "recovered")
	require.Equal(t, 1, hs[3].ClaimFailures, "failing again")
	last := hs[len(hs)-1]
	require.False(t, last.Running, "stopped")
	require.Positive(t, last.ClaimFailures)
}

// TestConsumerRunsOnWithoutFailAfter: by default Run never gives up; it backs off
// and reports, and its context still stops it.
func TestConsumerRunsOnWithoutFailAfter(t *testing.T) {
	t.Parallel()
	clock := sftest.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	q := &failingQueue{MemoryQueue: sftest.NewMemoryQueue(clock)}
	q.failing.Store(true)
	c, err := storagefirst.NewConsumer(storagefirst.ConsumerConfig{
		Queue: q, Clock: clock, Logger: slog.New(slog.DiscardHandler),
		Handler: storagefirst.HandlerFunc(func(context.Context, storagefirst.Envelope) error { return nil }),
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	for range 20 {
		require.NoError(t, clock.WaitForWaiters(wctx, 1))
		clock.Advance(time.Hour)
	}
	require.NoError(t, clock.WaitForWaiters(wctx, 1))
	require.Equal(t, 21, c.Health().ClaimFailures)
	cancel()
	require.NoError(t, <-done)
}

// TestConsumerReleasesAnIdempotencyWaitCutByShutdown: a duplicate waiting for the
// holder of its idempotency key is interrupted by the shutdown; the middleware
// reports that as a retryable error wrapping context.Canceled, and the consumer
// releases the envelope instead of spending one of its attempts.
func TestConsumerReleasesAnIdempotencyWaitCutByShutdown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q := sftest.NewMemoryQueue(nil)
	idem := sftest.NewMemoryIdempotencyStore(nil)
	env := newEnv(t, `{}`)
	_, err := idem.Begin(ctx, "s", env.Key(), storagefirst.PayloadFingerprint(env), time.Hour) // another worker holds it
	require.NoError(t, err)
	processed := make(chan storagefirst.Processed, 1)
	stop := runConsumer(t, storagefirst.ConsumerConfig{
		Queue: q, ShutdownTimeout: time.Millisecond,
		Handler: storagefirst.Chain(storagefirst.HandlerFunc(func(context.Context, storagefirst.Envelope) error {
			return errors.New("must not run while another worker holds the key")
		}), idempotent(t, storagefirst.IdempotentConfig{Store: idem, Scope: "s", InProgressWait: time.Hour})),
		OnProcessed: func(_ context.Context, p storagefirst.Processed) { processed <- p },
	})
	require.NoError(t, q.Put(ctx, env))
	for s, _ := q.Stats(ctx); s.InFlight == 0; s, _ = q.Stats(ctx) {
		<-time.After(time.Millisecond) // poll until claimed
	}
	stop()
	p := <-processed
	require.ErrorIs(t, p.Err, context.Canceled)
	require.Equal(t, storagefirst.ActionReleased, p.Action)
	ds, err := q.Claim(ctx, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, 1, ds[0].Envelope.Attempt, "the interrupted attempt is not counted")
	require.Empty(t, ds[0].Failures)
}

// TestConsumerDeadLettersPoisonOnTheFakeClock: the poison check needs no wall-clock
// lease: past the policy's attempts, the handler is not called.
func TestConsumerDeadLettersPoisonOnTheFakeClock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := sftest.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	q := sftest.NewMemoryQueue(clock)
	env := newEnv(t, `{}`)
	require.NoError(t, q.Put(ctx, env))
	for range 10 { // ten workers killed while handling it
		ds, err := q.Claim(ctx, 1, time.Minute)
		require.NoError(t, err)
		require.Len(t, ds, 1)
		clock.Advance(time.Minute)
	}
	var calls atomic.Int32
	processed := make(chan storagefirst.Processed, 1)
	runConsumer(t, storagefirst.ConsumerConfig{
		Queue: q, Clock: clock, Retry: storagefirst.RetryPolicy{MaxRetries: 3},
		Handler: storagefirst.HandlerFunc(func(context.Context, storagefirst.Envelope) error {
			calls.Add(1)
			return nil
		}),
		OnProcessed: func(_ context.Context, p storagefirst.Processed) { processed <- p },
	})
	p := <-processed
	require.Equal(t, storagefirst.ActionDeadLettered, p.Action)
	require.Equal(t, 11, p.Envelope.Attempt)
	require.ErrorIs(t, p.Err, storagefirst.ErrLeasesExpired)
	require.Zero(t, calls.Load())
	dead, err := q.ListDead(ctx, storagefirst.DeadLetterFilter{})
	require.NoError(t, err)
	require.Len(t, dead, 1)
	f := dead[0].LastFailure()
	require.Equal(t, storagefirst.FailureCodeLeaseExpired, f.Code)
	require.Contains(t, f.Error, "10 earlier lease(s) expired without an answer")
	require.Contains(t, f.Error, "allowing 4 attempts")
}
