package shop_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/examples/pizza/shop"
	"github.com/storagefirst/storagefirst-go/examples/pizza/shop/pgshop"
	"github.com/storagefirst/storagefirst-go/ingest"
	"github.com/storagefirst/storagefirst-go/internal/pgtest"
)

// proxiedShop runs the shop on Postgres through a proxy that can cut its
// connections.
func proxiedShop(t *testing.T) (*pgtest.Proxy, client) {
	t.Helper()
	url, schema := pgtest.NewSchema(t)
	proxy, purl := pgtest.NewProxy(t, url)
	b, err := pgshop.OpenPostgres(context.Background(), purl, schema)
	require.NoError(t, err)
	_, c := runShop(t, b)
	return proxy, c
}

func waitCut(t *testing.T, cut *pgtest.Cut) {
	t.Helper()
	select {
	case <-cut.Done:
	case <-time.After(10 * time.Second):
		t.Fatal("the connection was never cut")
	}
}

func problemType(t *testing.T, body []byte) string {
	t.Helper()
	var p ingest.Problem
	require.NoError(t, json.Unmarshal(body, &p), string(body))
	return p.Type
}

// The connection dies once the create's transaction (order row, envelope and
// Idempotency-Key record) has committed, before its answer: the client is told the
// outcome is unknown, and its retry gets the first order's ID. One order, created.
func TestCreateRetryAfterLostCommit(t *testing.T) {
	t.Parallel()
	proxy, c := proxiedShop(t)
	cut := proxy.Arm(&pgtest.Cut{After: pgtest.SQLContains("insert into", `"orders"`), Match: pgtest.IsCommit, AfterServer: true})
	code, body := c.do("POST", "/orders", `{"username":"lee"}`, "Idempotency-Key", "lee-1")
	waitCut(t, cut)
	require.Equal(t, http.StatusServiceUnavailable, code, string(body))
	require.Equal(t, ingest.ProblemOutcomeUnknown, problemType(t, body))

	id := c.create(`{"username":"lee"}`, "Idempotency-Key", "lee-1")
	orders := c.all()
	require.Len(t, orders, 1, "one order for one request")
	require.Equal(t, id, orders[0].ID, "the retry names the stored order")
	c.waitStatus(id, shop.StatusCreated)
}

// The database goes away while a create is being written and comes back: the
// retries get 503 while it is away, never 409, and a 202 within a second of its
// return. One order, created.
func TestCreateRetryAcrossOutage(t *testing.T) {
	t.Parallel()
	proxy, c := proxiedShop(t)
	cut := proxy.Arm(&pgtest.Cut{Match: pgtest.SQLContains("insert into", `"orders"`), Outage: true})
	code, body := c.do("POST", "/orders", `{"username":"lee"}`, "Idempotency-Key", "lee-1")
	waitCut(t, cut)
	require.Equal(t, http.StatusServiceUnavailable, code, string(body))
	code, body = c.do("POST", "/orders", `{"username":"lee"}`, "Idempotency-Key", "lee-1")
	require.Equal(t, http.StatusServiceUnavailable, code, string(body))

	proxy.SetDown(false)
	up := time.Now()
	var id string
	for id == "" {
		code, body := c.do("POST", "/orders", `{"username":"lee"}`, "Idempotency-Key", "lee-1")
		require.NotEqual(t, http.StatusConflict, code, "409 %.1fs after the outage: %s", time.Since(up).Seconds(), body)
		if code == http.StatusAccepted {
			var acc ingest.Accepted
			require.NoError(t, json.Unmarshal(body, &acc))
			id = acc.ID
			break
		}
		require.Less(t, time.Since(up), time.Second, "no 202 within a second of the outage: %d %s", code, body)
	}
	orders := c.all()
	require.Len(t, orders, 1)
	require.Equal(t, id, orders[0].ID)
	c.waitStatus(id, shop.StatusCreated)
}
