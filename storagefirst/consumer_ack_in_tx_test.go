package storagefirst_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
)

// TestConsumerAckedByHandler: a handler that acknowledges its delivery itself (as a
// store does inside the handler's transaction) and says so with MarkAcked is
// reported acked, without a second acknowledgement (which would find the lease
// gone); the handler's context carries the queue and the lease.
func TestConsumerAckedByHandler(t *testing.T) {
	t.Parallel()
	q := sftest.NewMemoryQueue(nil)
	ctx := context.Background()
	env := newEnv(t, `{"n":1}`)
	processed := make(chan storagefirst.Processed, 10)
	seen := make(chan storagefirst.Lease, 1)
	runConsumer(t, storagefirst.ConsumerConfig{
		Queue: q,
		Handler: storagefirst.HandlerFunc(func(ctx context.Context, e storagefirst.Envelope) error {
			hq, l, ok := storagefirst.DeliveryLeaseFromContext(ctx)
			if !ok || hq != storagefirst.Queue(q) || l.ID != e.ID {
				return storagefirst.Permanentf("no delivery lease in the handler's context")
			}
			seen <- l
			if err := q.Ack(ctx, l); err != nil { // "in the handler's transaction"
				return err
			}
			storagefirst.MarkAcked(ctx)
			return nil
		}),
		OnProcessed: func(_ context.Context, p storagefirst.Processed) { processed <- p },
	})
	require.NoError(t, q.Put(ctx, env))
	select {
	case p := <-processed:
		require.Equal(t, storagefirst.ActionAcked, p.Action)
		require.NoError(t, p.AnswerErr)
		require.NoError(t, p.Err)
	case <-time.After(10 * time.Second):
		require.FailNow(t, "not processed")
	}
	l := <-seen
	require.ErrorIs(t, q.Ack(ctx, l), storagefirst.ErrLeaseLost, "acknowledged once, by the handler")
	st, err := q.Stats(ctx)
	require.NoError(t, err)
	require.Zero(t, st.Depth())
}

// TestConsumerAckedByHandlerThatFails: MarkAcked does not hide a handler's error:
// its transaction rolled back, so the delivery is answered as usual (retried).
func TestConsumerAckedByHandlerThatFails(t *testing.T) {
	t.Parallel()
	q := sftest.NewMemoryQueue(nil)
	ctx := context.Background()
	env := newEnv(t, `{"n":2}`)
	processed := make(chan storagefirst.Processed, 10)
	runConsumer(t, storagefirst.ConsumerConfig{
		Queue: q,
		Retry: storagefirst.RetryPolicy{Interval: time.Hour},
		Handler: storagefirst.HandlerFunc(func(ctx context.Context, e storagefirst.Envelope) error {
			storagefirst.MarkAcked(ctx) // then the "transaction" rolls back
			return errors.New("rolled back")
		}),
		OnProcessed: func(_ context.Context, p storagefirst.Processed) { processed <- p },
	})
	require.NoError(t, q.Put(ctx, env))
	select {
	case p := <-processed:
		require.Equal(t, storagefirst.ActionRetried, p.Action)
		require.NoError(t, p.AnswerErr)
	case <-time.After(10 * time.Second):
		require.FailNow(t, "not processed")
	}
	st, err := q.Stats(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), st.Scheduled, "still in the queue, waiting for its retry")
}

// TestDeliveryLeaseContext: outside a Consumer there is no lease and MarkAcked is
// a no-op; WithDeliveryLease carries one for a loop of one's own.
func TestDeliveryLeaseContext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, _, ok := storagefirst.DeliveryLeaseFromContext(ctx)
	require.False(t, ok)
	storagefirst.MarkAcked(ctx)
	require.False(t, storagefirst.AckedInContext(ctx))

	q := sftest.NewMemoryQueue(nil)
	l := storagefirst.Lease{ID: "e1", Token: 7, Until: time.Now()}
	hctx := storagefirst.WithDeliveryLease(ctx, q, l, nil)
	gq, gl, ok := storagefirst.DeliveryLeaseFromContext(hctx)
	require.True(t, ok)
	require.Equal(t, storagefirst.Queue(q), gq)
	require.Equal(t, l, gl)
	require.False(t, storagefirst.AckedInContext(hctx))
	storagefirst.MarkAcked(hctx)
	require.True(t, storagefirst.AckedInContext(hctx))
}
