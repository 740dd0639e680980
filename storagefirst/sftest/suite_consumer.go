package sftest

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// shutdownRounds is how often ConsumerShutdownLeavesNothingLeased stops a consumer
// at a random point of a backlog.
const shutdownRounds = 100

// runConsumerSuite runs the cases of RunQueueSuite that drive a storagefirst.Consumer
// over the backend, each on a fresh backend.
func runConsumerSuite(t *testing.T, newBackend func(t *testing.T) QueueBackend) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, q QueueBackend)
	}{
		{"ConsumerHandlesEveryEnvelope", testConsumerHandles},
		{"ConsumerExtendsTheLease", testConsumerExtends},
		{"ConsumerDeadLettersPoisonPastMaxRetries", testConsumerPoison},
		{"ConsumerShutdownLeavesNothingLeased", testConsumerShutdownLeavesNothingLeased},
		{"ConsumerShutdownReleasesInFlight", testConsumerShutdownReleases},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newBackend(t))
		})
	}
}

// suiteConsumer is a Consumer running in the background.
type suiteConsumer struct {
	*storagefirst.Consumer
	cancel context.CancelFunc
	done   chan error
}

// startConsumer starts a consumer over cfg (quiet, polling fast unless set).
func startConsumer(t *testing.T, cfg storagefirst.ConsumerConfig) *suiteConsumer {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 10 * time.Millisecond
	}
	c, err := storagefirst.NewConsumer(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	sc := &suiteConsumer{Consumer: c, cancel: cancel, done: make(chan error, 1)}
	go func() { sc.done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-sc.done
	})
	return sc
}

// stop cancels Run's context and returns what Run returned.
func (sc *suiteConsumer) stop(t *testing.T) error {
	t.Helper()
	sc.cancel()
	select {
	case err := <-sc.done:
		sc.done <- err // for the cleanup
		return err
	case <-time.After(suiteTimeout):
		require.FailNow(t, "Run did not return after its context ended")
		return nil
	}
}

// awaitProcessed receives from c until done says so, or fails at the deadline.
func awaitProcessed(t *testing.T, ctx context.Context, c <-chan storagefirst.Processed, done func(storagefirst.Processed) bool) {
	t.Helper()
	for {
		select {
		case p := <-c:
			require.NoError(t, p.AnswerErr, "answering %s (%s)", p.Envelope.ID, p.Action)
			if done(p) {
				return
			}
		case <-ctx.Done():
			require.FailNow(t, "the consumer did not finish before the deadline")
		}
	}
}

func testConsumerHandles(t *testing.T, q QueueBackend) {
	ctx := suiteCtx(t)
	in := envs(t, 30)
	bad := map[string]bool{in[3].ID: true, in[17].ID: true}
	var mu sync.Mutex
	calls := map[string]int{}
	processed := make(chan storagefirst.Processed, 4*len(in))
	startConsumer(t, storagefirst.ConsumerConfig{
		Queue: q, Workers: 4,
		Retry: storagefirst.RetryPolicy{Interval: time.Millisecond, MaxRetries: 1},
		Handler: storagefirst.HandlerFunc(func(_ context.Context, env storagefirst.Envelope) error {
			mu.Lock()
			calls[env.ID]++
			n := calls[env.ID]
			mu.Unlock()
			switch {
			case bad[env.ID]:
				return storagefirst.Permanentf("bad envelope")
			case n == 1 && env.Metadata["i"] == "5":
				return errors.New("flaky once")
			}
			return nil
		}),
		OnProcessed: func(_ context.Context, p storagefirst.Processed) { processed <- p },
	})
	require.NoError(t, q.Put(ctx, in...))
	final := map[string]storagefirst.Action{}
	awaitProcessed(t, ctx, processed, func(p storagefirst.Processed) bool {
		if p.Action != storagefirst.ActionRetried {
			final[p.Envelope.ID] = p.Action
		}
		return len(final) == len(in)
	})
	for _, e := range in {
		want := storagefirst.ActionAcked
		if bad[e.ID] {
			want = storagefirst.ActionDeadLettered
		}
		require.Equal(t, want, final[e.ID], "envelope %s", e.Metadata["i"])
	}
	mu.Lock()
	require.Equal(t, 2, calls[in[5].ID], "retried once")
	mu.Unlock()
	s, err := q.Stats(ctx)
	require.NoError(t, err)
	require.Equal(t, storagefirst.QueueStats{Dead: 2}, s)
}

// testConsumerExtends: a handler that runs for several lease lengths keeps its
// envelope (the consumer extends the lease in the store), runs once, and is acked
// at its first attempt.
func testConsumerExtends(t *testing.T, q QueueBackend) {
	ctx := suiteCtx(t)
	in := envs(t, 1)
	release := make(chan struct{})
	var calls atomic.Int32
	processed := make(chan storagefirst.Processed, 2)
	startConsumer(t, storagefirst.ConsumerConfig{
		Queue: q, Workers: 2, Lease: 2 * shortLease, Retry: storagefirst.RetryPolicy{NoRetries: true},
		Handler: storagefirst.HandlerFunc(func(ctx context.Context, _ storagefirst.Envelope) error {
			calls.Add(1)
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}),
		OnProcessed: func(_ context.Context, p storagefirst.Processed) { processed <- p },
	})
	require.NoError(t, q.Put(ctx, in...))
	for calls.Load() == 0 {
		require.NoError(t, ctx.Err(), "the handler did not start")
		<-time.After(5 * time.Millisecond) // poll interval, not synchronisation
	}
	deadline := time.Now().Add(6 * shortLease) // outliving the lease is the point here
	for time.Now().Before(deadline) {
		s, err := q.Stats(ctx)
		require.NoError(t, err)
		require.Equal(t, int64(1), s.InFlight, "the lease ran out while the handler ran: %+v", s)
		<-time.After(20 * time.Millisecond)
	}
	close(release)
	awaitProcessed(t, ctx, processed, func(p storagefirst.Processed) bool {
		require.Equal(t, storagefirst.ActionAcked, p.Action)
		require.Equal(t, 1, p.Envelope.Attempt)
		return true
	})
	require.Equal(t, int32(1), calls.Load())
	s, err := q.Stats(ctx)
	require.NoError(t, err)
	require.Zero(t, s.Depth()+s.Dead)
}

// testConsumerPoison: an envelope whose handler never answers (the worker dies
// holding it) comes back each time its lease expires; once it is past the policy's
// attempts, the consumer dead-letters it without running the handler, saying why.
func testConsumerPoison(t *testing.T, q QueueBackend) {
	ctx := suiteCtx(t)
	in := envs(t, 2)
	poison, healthy := in[0], in[1]
	require.NoError(t, q.Put(ctx, poison))
	// Attempt 1: a worker dies; its lease expires. Attempt 2: answered with a
	// retryable failure. Attempt 3: a worker dies again.
	d := claimOne(t, ctx, q, shortLease)
	require.Equal(t, 1, d.Envelope.Attempt)
	d = claimOne(t, ctx, q, time.Minute)
	require.Equal(t, 2, d.Envelope.Attempt)
	require.NoError(t, q.Retry(ctx, d.Lease, 0, storagefirst.NewFailure(2, time.Now(), errors.New("flaky"))))
	d = claimOne(t, ctx, q, shortLease)
	require.Equal(t, 3, d.Envelope.Attempt)
	require.NoError(t, q.Put(ctx, healthy))

	var mu sync.Mutex
	var handled []string
	processed := make(chan storagefirst.Processed, 10)
	sc := startConsumer(t, storagefirst.ConsumerConfig{
		Queue: q, Workers: 2,
		Retry: storagefirst.RetryPolicy{MaxRetries: 2}, // 3 attempts
		Handler: storagefirst.HandlerFunc(func(_ context.Context, env storagefirst.Envelope) error {
			mu.Lock()
			handled = append(handled, env.ID)
			mu.Unlock()
			return nil
		}),
		OnProcessed: func(_ context.Context, p storagefirst.Processed) { processed <- p },
	})
	final := map[string]storagefirst.Processed{}
	awaitProcessed(t, ctx, processed, func(p storagefirst.Processed) bool {
		final[p.Envelope.ID] = p
		return len(final) == 2
	})
	require.NoError(t, sc.stop(t))
	mu.Lock()
	require.Equal(t, []string{healthy.ID}, handled, "the poison envelope never reaches the handler")
	mu.Unlock()
	require.Equal(t, storagefirst.ActionAcked, final[healthy.ID].Action)
	p := final[poison.ID]
	require.Equal(t, storagefirst.ActionDeadLettered, p.Action)
	require.Equal(t, 4, p.Envelope.Attempt)
	require.ErrorIs(t, p.Err, storagefirst.ErrLeasesExpired)

	dead, err := q.ListDead(ctx, storagefirst.DeadLetterFilter{})
	require.NoError(t, err)
	require.Len(t, dead, 1)
	require.Equal(t, poison.ID, dead[0].Envelope.ID)
	require.Len(t, dead[0].Failures, 2, "the answered failure, then why it was dead-lettered")
	require.Equal(t, "flaky", dead[0].FirstFailure().Error)
	last := dead[0].LastFailure()
	require.Equal(t, storagefirst.FailureCodeLeaseExpired, last.Code)
	require.Equal(t, 4, last.Attempt)
	require.Contains(t, last.Error, "2 earlier lease(s) expired without an answer")
	require.Contains(t, last.Error, "allowing 3 attempts")
	s, err := q.Stats(ctx)
	require.NoError(t, err)
	require.Equal(t, storagefirst.QueueStats{Dead: 1}, s)
}

// testConsumerShutdownLeavesNothingLeased stops consumers at random points of a
// backlog, by cancelling Run's context or by Shutdown; once Run has returned,
// nothing is in flight: every claimed envelope was handled or released.
func testConsumerShutdownLeavesNothingLeased(t *testing.T, q QueueBackend) {
	ctx, cancelAll := context.WithTimeout(context.Background(), shutdownRounds*time.Second/2)
	defer cancelAll()
	handler := storagefirst.HandlerFunc(func(ctx context.Context, env storagefirst.Envelope) error {
		select { // a little work, which honours cancellation
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(rand.IntN(2000)) * time.Microsecond):
			return nil
		}
	})
	var handled atomic.Int64
	ready := int64(0)
	for round := range shutdownRounds {
		if ready < 8 { // a small backlog, never growing
			require.NoError(t, q.Put(ctx, envs(t, 8)...))
		}
		c, err := storagefirst.NewConsumer(storagefirst.ConsumerConfig{
			Queue: q, Workers: 4, Handler: handler, PollInterval: time.Millisecond,
			ShutdownTimeout: time.Duration(1+rand.IntN(3000)) * time.Microsecond,
			Logger:          slog.New(slog.DiscardHandler),
			OnProcessed: func(_ context.Context, p storagefirst.Processed) {
				if p.Action == storagefirst.ActionAcked {
					handled.Add(1)
				}
			},
		})
		require.NoError(t, err)
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- c.Run(rctx) }()
		// A random stop point: the waiting is the point here, not synchronisation.
		<-time.After(time.Duration(rand.IntN(15000)) * time.Microsecond)
		if round%2 == 0 {
			cancel()
		} else {
			sctx, scancel := context.WithTimeout(ctx, time.Duration(rand.IntN(3000))*time.Microsecond)
			err := c.Shutdown(sctx)
			scancel()
			if err != nil {
				require.ErrorIs(t, err, context.DeadlineExceeded)
			}
		}
		select {
		case err := <-done:
			if err != nil { // a Shutdown before Run began
				require.ErrorIs(t, err, storagefirst.ErrClosed)
			}
		case <-ctx.Done():
			require.FailNow(t, "Run did not return", "round %d", round)
		}
		cancel()
		s, err := q.Stats(ctx)
		require.NoError(t, err)
		require.Zero(t, s.InFlight, "round %d: envelopes left leased after Run returned: %+v", round, s)
		require.Zero(t, s.Dead+s.Scheduled, "round %d: %+v", round, s)
		ready = s.Ready
	}
	require.Positive(t, handled.Load(), "the consumers did some work")
}

// testConsumerShutdownReleases: Shutdown waits for in-flight handlers until its
// context ends, then cancels them; their envelopes are released, not failed.
func testConsumerShutdownReleases(t *testing.T, q QueueBackend) {
	ctx := suiteCtx(t)
	in := envs(t, 2)
	started := make(chan string, len(in))
	finish := make(chan struct{})
	processed := make(chan storagefirst.Processed, len(in))
	sc := startConsumer(t, storagefirst.ConsumerConfig{
		Queue: q, Workers: 2,
		Handler: storagefirst.HandlerFunc(func(ctx context.Context, env storagefirst.Envelope) error {
			started <- env.ID
			if env.ID == in[0].ID {
				<-finish // finishes once asked to
				return nil
			}
			<-ctx.Done() // runs until cancelled
			return ctx.Err()
		}),
		OnProcessed: func(_ context.Context, p storagefirst.Processed) { processed <- p },
	})
	require.NoError(t, q.Put(ctx, in...))
	for range in {
		select {
		case <-started:
		case <-ctx.Done():
			require.FailNow(t, "the handlers did not start")
		}
	}
	sctx, cancel := context.WithCancel(ctx)
	shut := make(chan error, 1)
	go func() { shut <- sc.Shutdown(sctx) }()
	close(finish) // the first handler finishes within the grace period
	got := <-processed
	require.Equal(t, in[0].ID, got.Envelope.ID)
	require.Equal(t, storagefirst.ActionAcked, got.Action)
	cancel() // the grace period ends: the second is cancelled
	require.ErrorIs(t, <-shut, context.Canceled)
	got = <-processed
	require.Equal(t, in[1].ID, got.Envelope.ID)
	require.Equal(t, storagefirst.ActionReleased, got.Action)
	require.NoError(t, got.AnswerErr)
	require.NoError(t, <-sc.done)
	sc.done <- nil
	require.ErrorIs(t, sc.Run(ctx), storagefirst.ErrClosed, "a shut down consumer stays shut")

	s, err := q.Stats(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(0), s.InFlight)
	again := claimOne(t, ctx, q, time.Minute)
	require.Equal(t, in[1].ID, again.Envelope.ID)
	require.Equal(t, 1, again.Envelope.Attempt, "a release does not count the attempt")
	require.Empty(t, again.Failures)
}
