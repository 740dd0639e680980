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

// runConsumer starts a consumer and returns a func that stops it and waits.
func runConsumer(t *testing.T, cfg storagefirst.ConsumerConfig) (stop func()) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 5 * time.Millisecond
	}
	c, err := storagefirst.NewConsumer(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); require.NoError(t, <-done) }) }
	t.Cleanup(stop)
	return stop
}

func TestConsumerHandlesRetriesAndDeadLetters(t *testing.T) {
	t.Parallel()
	q := sftest.NewMemoryQueue(nil)
	ctx := context.Background()
	ok, flaky, bad := newEnv(t, `{"kind":"ok"}`), newEnv(t, `{"kind":"flaky"}`), newEnv(t, `{"kind":"bad"}`)
	var attempts sync.Map
	processed := make(chan storagefirst.Processed, 100)
	runConsumer(t, storagefirst.ConsumerConfig{
		Queue: q, Workers: 4,
		Retry: storagefirst.RetryPolicy{Interval: time.Millisecond, MaxRetries: 2},
		Handler: storagefirst.HandlerFunc(func(ctx context.Context, env storagefirst.Envelope) error {
			n, _ := attempts.LoadOrStore(env.ID, new(atomic.Int32))
			n.(*atomic.Int32).Add(1)
			switch env.ID {
			case flaky.ID:
				return errors.New("always flaky")
			case bad.ID:
				return storagefirst.Permanentf("bad order")
			}
			return nil
		}),
		OnProcessed: func(_ context.Context, p storagefirst.Processed) { processed <- p },
	})
	require.NoError(t, q.Put(ctx, ok, flaky, bad))

	final := map[string]storagefirst.Action{}
	timeout := time.After(10 * time.Second)
	for len(final) < 3 {
		select {
		case p := <-processed:
			require.NoError(t, p.AnswerErr)
			if p.Action != storagefirst.ActionRetried {
				final[p.Envelope.ID] = p.Action
			}
		case <-timeout:
			require.FailNow(t, "consumer did not finish", "%v", final)
		}
	}
	require.Equal(t, storagefirst.ActionAcked, final[ok.ID])
	require.Equal(t, storagefirst.ActionDeadLettered, final[flaky.ID])
	require.Equal(t, storagefirst.ActionDeadLettered, final[bad.ID])
	n, _ := attempts.Load(flaky.ID)
	require.Equal(t, int32(3), n.(*atomic.Int32).Load(), "one attempt and two retries")
	n, _ = attempts.Load(bad.ID)
	require.Equal(t, int32(1), n.(*atomic.Int32).Load(), "permanent: never retried")

	dead, err := q.ListDead(ctx, storagefirst.DeadLetterFilter{})
	require.NoError(t, err)
	require.Len(t, dead, 2)
	for _, d := range dead {
		if d.Envelope.ID == flaky.ID {
			require.Len(t, d.Failures, 3)
		} else {
			require.Len(t, d.Failures, 1)
			require.Equal(t, "permanent", d.LastFailure().Class)
		}
	}
}

func TestConsumerBoundsConcurrency(t *testing.T) {
	t.Parallel()
	q := sftest.NewMemoryQueue(nil)
	const workers, n = 3, 30
	var running, peak, done atomic.Int32
	all := make(chan struct{})
	runConsumer(t, storagefirst.ConsumerConfig{
		Queue: q, Workers: workers,
		Handler: storagefirst.HandlerFunc(func(context.Context, storagefirst.Envelope) error {
			r := running.Add(1)
			for p := peak.Load(); r > p && !peak.CompareAndSwap(p, r); p = peak.Load() {
			}
			running.Add(-1)
			if done.Add(1) == n {
				close(all)
			}
			return nil
		}),
	})
	var es []storagefirst.Envelope
	for range n {
		es = append(es, newEnv(t, `{}`))
	}
	require.NoError(t, q.Put(context.Background(), es...))
	select {
	case <-all:
	case <-time.After(10 * time.Second):
		require.FailNow(t, "not all handled")
	}
	require.LessOrEqual(t, peak.Load(), int32(workers))
}

func TestConsumerShutdownReleasesInFlightWork(t *testing.T) {
	t.Parallel()
	q := sftest.NewMemoryQueue(nil)
	started := make(chan struct{})
	stop := runConsumer(t, storagefirst.ConsumerConfig{
		Queue: q, ShutdownTimeout: time.Millisecond,
		Handler: storagefirst.HandlerFunc(func(ctx context.Context, env storagefirst.Envelope) error {
			close(started)
			<-ctx.Done() // a slow handler that honours cancellation
			return ctx.Err()
		}),
	})
	env := newEnv(t, `{}`)
	require.NoError(t, q.Put(context.Background(), env))
	<-started
	stop()
	// Released, not failed: due again at once, the attempt not counted.
	ds, err := q.Claim(context.Background(), 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, 1, ds[0].Envelope.Attempt)
	require.Empty(t, ds[0].Failures)
}

func TestConsumerExtendsTheLease(t *testing.T) {
	t.Parallel()
	q := sftest.NewMemoryQueue(nil)
	lease := 400 * time.Millisecond
	release := make(chan struct{})
	acked := make(chan storagefirst.Processed, 1)
	runConsumer(t, storagefirst.ConsumerConfig{
		Queue: q, Lease: lease,
		Handler: storagefirst.HandlerFunc(func(ctx context.Context, env storagefirst.Envelope) error {
			<-release
			return nil
		}),
		OnProcessed: func(_ context.Context, p storagefirst.Processed) { acked <- p },
	})
	require.NoError(t, q.Put(context.Background(), newEnv(t, `{}`)))
	for s, _ := q.Stats(context.Background()); s.InFlight == 0; s, _ = q.Stats(context.Background()) {
		<-time.After(time.Millisecond) // poll until claimed
	}
	// Hold the handler for several lease lengths; the envelope must stay in flight.
	deadline := time.Now().Add(3 * lease)
	for time.Now().Before(deadline) {
		s, err := q.Stats(context.Background())
		require.NoError(t, err)
		require.Zero(t, s.Ready, "lease expired while the handler ran")
		<-time.After(10 * time.Millisecond)
	}
	close(release)
	p := <-acked
	require.Equal(t, storagefirst.ActionAcked, p.Action)
	require.Equal(t, 1, p.Envelope.Attempt)
}

func TestConsumerRecoversHandlerPanics(t *testing.T) {
	t.Parallel()
	q := sftest.NewMemoryQueue(nil)
	processed := make(chan storagefirst.Processed, 1)
	runConsumer(t, storagefirst.ConsumerConfig{
		Queue: q, Retry: storagefirst.RetryPolicy{NoRetries: true},
		Handler:     storagefirst.HandlerFunc(func(context.Context, storagefirst.Envelope) error { panic("oops") }),
		OnProcessed: func(_ context.Context, p storagefirst.Processed) { processed <- p },
	})
	require.NoError(t, q.Put(context.Background(), newEnv(t, `{}`)))
	p := <-processed
	var pe *storagefirst.PanicError
	require.ErrorAs(t, p.Err, &pe)
	require.Equal(t, storagefirst.ActionDeadLettered, p.Action)
}

func TestNewConsumerReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := storagefirst.NewConsumer(storagefirst.ConsumerConfig{Workers: -1, Lease: -1, Retry: storagefirst.RetryPolicy{BackoffRate: 0.1}})
	require.Error(t, err)
	for _, want := range []string{"Queue is required", "Handler is required", "Workers is negative", "Lease is negative", "BackoffRate"} {
		require.Contains(t, err.Error(), want)
	}
}

func TestConsumerHandlerTimeoutFreesTheEnvelope(t *testing.T) {
	t.Parallel()
	q := sftest.NewMemoryQueue(nil)
	block := make(chan struct{})
	defer close(block)
	started := make(chan struct{}, 1)
	runConsumer(t, storagefirst.ConsumerConfig{
		Queue: q, Workers: 1, Lease: 200 * time.Millisecond, HandlerTimeout: 100 * time.Millisecond, ShutdownTimeout: time.Millisecond,
		Handler: storagefirst.HandlerFunc(func(context.Context, storagefirst.Envelope) error {
			started <- struct{}{}
			<-block // ignores its context
			return nil
		}),
	})
	require.NoError(t, q.Put(context.Background(), newEnv(t, `{}`)))
	<-started
	// The stuck handler stops extending its lease: the envelope is due again.
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, err := q.Stats(context.Background())
		require.NoError(t, err)
		if s.Ready == 1 {
			return
		}
		require.True(t, time.Now().Before(deadline), "the envelope stayed held: %+v", s)
		<-time.After(10 * time.Millisecond)
	}
}
