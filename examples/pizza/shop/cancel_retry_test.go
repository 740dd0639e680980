package shop_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/examples/pizza/shop"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// A cancel by username whose answer was lost (a database error of unknown
// outcome is Database.Unavailable, which the workflow retries) is retried with
// the same request ID: the retry answers the order the first attempt cancelled,
// and cancels no second order ("the latest open order" is another one by then).
// A new request cancels the next one.
func TestRetriedCancelCancelsOneOrder(t *testing.T) {
	t.Parallel()
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			b := open(t)
			t.Cleanup(b.Close)
			create, err := shop.CreateHandlerFor(b.Orders(), b.Idempotency())
			require.NoError(t, err)
			for _, id := range []string{"0001", "0002"} {
				env, err := storagefirst.NewEnvelope(shop.TypeCreateOrder, []byte(`{"username":"lee"}`))
				require.NoError(t, err)
				env.ID = id
				require.NoError(t, create.Handle(ctx, env))
			}
			cancel := shop.CancelFunc(b.Orders())
			in := shop.CancelInput{ActionType: "cancel", Body: shop.CancelOrder{Username: "lee"}, RequestID: "req-1"}
			first, err := cancel(ctx, in)
			require.NoError(t, err)
			require.Equal(t, "0002", first.ID)
			again, err := cancel(ctx, in) // the task's retry
			require.NoError(t, err)
			require.Equal(t, first.ID, again.ID)
			require.Equal(t, shop.StatusCancelled, again.Status)
			other, err := b.Orders().Get(ctx, "0001")
			require.NoError(t, err)
			require.NotEqual(t, shop.StatusCancelled, other.Status, "the retry cancelled a second order")

			in.RequestID = "req-2"
			next, err := cancel(ctx, in)
			require.NoError(t, err)
			require.Equal(t, "0001", next.ID, "a new request cancels the next open order")
		})
	}
}
