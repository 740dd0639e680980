package shop_test

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/examples/pizza/shop"
	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/workflow"
)

// With the default timings, a cancel that keeps failing (Lambda service errors,
// an unavailable database, and every retry one after another) is caught into the
// dead-letter queue with its input and answered 502 before the execution's
// timeout: it does not end TIMED_OUT. (The ASL's worst case, with every attempt
// running to its timeout, is checked by infra's npm test.)
func TestCancelThatFailsReachesTheDLQBeforeTheDeadline(t *testing.T) {
	t.Parallel()
	cases := map[string]func(attempt int32) error{
		"Lambda service errors": func(int32) error {
			return workflow.Errorf("Lambda.ServiceException", "throttled")
		},
		"database unavailable": func(int32) error {
			return workflow.Errorf("Database.Unavailable", "no connection")
		},
		"every retry, then another error": func(attempt int32) error {
			switch attempt {
			case 1, 2:
				return workflow.Errorf("Lambda.ServiceException", "throttled")
			case 3:
				return workflow.Errorf("Database.Unavailable", "no connection")
			}
			return workflow.Errorf("Oven.OnFire", "the oven is on fire")
		},
	}
	for name, fail := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			b := openSQLiteShop(t)
			s, err := shop.New(shop.Config{Backend: b, Logger: slog.New(slog.DiscardHandler)}) // default timings
			require.NoError(t, err)
			c := serve(t, s, b)

			id := c.create(`{"username":"amy"}`)
			c.waitStatus(id, shop.StatusCreated)
			var attempts atomic.Int32
			s.SetFailCancel(func(shop.CancelOrder) error { return fail(attempts.Add(1)) })
			start := time.Now()
			code, body := c.do("POST", "/orders/"+id+"/cancel", "")
			elapsed := time.Since(start)
			require.Equal(t, http.StatusBadGateway, code, string(body))
			require.Contains(t, string(body), "CancelFailed", "caught, not timed out")
			require.Less(t, elapsed, shop.CancelTimeoutDefault)
			dead, err := b.CancelQueue().ListDead(ctx, storagefirst.DeadLetterFilter{})
			require.NoError(t, err)
			require.Len(t, dead, 1)
			require.Contains(t, string(dead[0].Envelope.Payload), id, "the DLQ holds the request")
			require.Equal(t, shop.StatusCreated, c.order(id).Status)
			require.GreaterOrEqual(t, attempts.Load(), int32(2), "retried")
		})
	}
}
