package shop_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/examples/pizza/shop"
	"github.com/storagefirst/storagefirst-go/ingest"
)

// TestRetryAfterTheFrontDoorsRecordExpiredIsCreated: once the front door's record
// of an Idempotency-Key has expired, a request with that key is a new order (a
// new ID); the consumer creates it, rather than skipping it as a repeat of the
// first (which would leave it accepted for ever). On SQLite and Postgres.
func TestRetryAfterTheFrontDoorsRecordExpiredIsCreated(t *testing.T) {
	t.Parallel()
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := open(t)
			_, c := runShop(t, b)
			body := `{"username":"lee","items":["margherita"]}`
			first := c.create(body, ingest.HeaderIdempotencyKey, "key-1")
			c.waitStatus(first, shop.StatusCreated)

			// The front door's record of the key expires (its TTL is over).
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			require.NoError(t, b.Idempotency().Delete(ctx, "http:create-order", "key-1"))

			second := c.create(body, ingest.HeaderIdempotencyKey, "key-1")
			require.NotEqual(t, first, second, "a new request once the record expired")
			c.waitStatus(second, shop.StatusCreated)
		})
	}
}
