package storagefirst_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
)

// hangingExtendQueue is a MemoryQueue whose Extend hangs until its context ends
// (a store that stopped answering), saying when it was called.
type hangingExtendQueue struct {
	*sftest.MemoryQueue
	once   sync.Once
	called chan struct{}
}

func (q *hangingExtendQueue) Extend(ctx context.Context, l storagefirst.Lease, d time.Duration) (storagefirst.Lease, error) {
	q.once.Do(func() { close(q.called) })
	<-ctx.Done()
	return storagefirst.Lease{}, ctx.Err()
}

// TestConsumerBoundsEachLeaseExtension: an Extend that hangs does not hold the
// delivery's answer back beyond the lease: the handler's success is acked.
func TestConsumerBoundsEachLeaseExtension(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// The queue's clock stands still: its lease never runs out, so no redelivery
	// can answer for the first one.
	frozen := sftest.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	q := &hangingExtendQueue{MemoryQueue: sftest.NewMemoryQueue(frozen), called: make(chan struct{})}
	env, err := storagefirst.NewEnvelope("test", []byte(`{}`))
	require.NoError(t, err)
	require.NoError(t, q.Put(ctx, env))
	processed := make(chan storagefirst.Processed, 1)
	c, err := storagefirst.NewConsumer(storagefirst.ConsumerConfig{
		Queue: q, Lease: 300 * time.Millisecond, HandlerTimeout: -1, PollInterval: 10 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler),
		Handler: storagefirst.HandlerFunc(func(ctx context.Context, _ storagefirst.Envelope) error {
			select { // outlive the first extension's start
			case <-q.called:
			case <-ctx.Done():
			}
			return nil
		}),
		OnProcessed: func(_ context.Context, p storagefirst.Processed) { processed <- p },
	})
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- c.Run(runCtx) }()
	defer func() { stop(); <-ran }()
	select {
	case p := <-processed:
		require.Equal(t, 1, p.Envelope.Attempt)
		require.Equal(t, storagefirst.ActionAcked, p.Action)
	case <-ctx.Done():
		require.FailNow(t, "a hanging Extend held the delivery's answer back")
	}
}
