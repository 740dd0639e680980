package shop_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/console"
	"github.com/storagefirst/storagefirst-go/dlq"
	"github.com/storagefirst/storagefirst-go/examples/pizza/shop"
	"github.com/storagefirst/storagefirst-go/examples/pizza/shop/operator"
	"github.com/storagefirst/storagefirst-go/examples/pizza/shop/pgshop"
	"github.com/storagefirst/storagefirst-go/examples/pizza/shop/sqliteshop"
	"github.com/storagefirst/storagefirst-go/internal/pgtest"
	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/workflow"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type client struct {
	t   *testing.T
	url string
}

// do sends a request (a JSON body when body is set) and returns the status and
// the body of the answer.
func (c client) do(method, path, body string, headers ...string) (int, []byte) {
	c.t.Helper()
	contentType := ""
	if body != "" {
		contentType = "application/json"
	}
	a := c.send(method, path, contentType, body, headers...)
	return a.code, a.body
}

func (c client) create(body string, headers ...string) string {
	c.t.Helper()
	code, b := c.do("POST", "/orders", body, headers...)
	require.Equal(c.t, http.StatusAccepted, code, string(b))
	var acc struct{ ID string }
	require.NoError(c.t, json.Unmarshal(b, &acc))
	return acc.ID
}

func (c client) order(id string) shop.Order {
	c.t.Helper()
	code, b := c.do("GET", "/orders/"+id, "")
	require.Equal(c.t, http.StatusOK, code, string(b))
	var o shop.Order
	require.NoError(c.t, json.Unmarshal(b, &o))
	return o
}

func (c client) waitStatus(id, status string) shop.Order {
	c.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		o := c.order(id)
		if o.Status == status {
			return o
		}
		require.True(c.t, time.Now().Before(deadline), "order %s is %s, not %s", id, o.Status, status)
		<-time.After(10 * time.Millisecond)
	}
}

func (c client) all() []shop.Order {
	var out []shop.Order
	after := ""
	for {
		code, b := c.do("GET", "/orders?limit=2&after="+after, "")
		require.Equal(c.t, 200, code)
		var page struct {
			Orders []shop.Order
			Next   string
		}
		require.NoError(c.t, json.Unmarshal(b, &page))
		out = append(out, page.Orders...)
		if page.Next == "" {
			return out
		}
		after = page.Next
	}
}

// adminToken is the shop's admin token in these tests.
const adminToken = "test-admin-token"

// runShop serves the shop over real HTTP and runs its consumers.
func runShop(t *testing.T, backend shop.Backend) (*shop.Shop, client) {
	t.Helper()
	cfg, err := operator.Configure(shop.Config{Backend: backend, Logger: slog.New(slog.DiscardHandler), RetryInterval: 10 * time.Millisecond},
		console.Auth{BearerToken: adminToken}, nil)
	require.NoError(t, err)
	s, err := shop.New(cfg)
	require.NoError(t, err)
	return s, serve(t, s, backend)
}

// serve runs s (its consumers) and serves its API over real HTTP until the test
// ends, then stops both and closes backend.
func serve(t *testing.T, s *shop.Shop, backend shop.Backend) client {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() { srv.Close(); cancel(); require.NoError(t, <-done); backend.Close() })
	return client{t, srv.URL}
}

// openSQLiteShop opens a backend on a new SQLite file.
func openSQLiteShop(t *testing.T) shop.Backend {
	t.Helper()
	b, err := sqliteshop.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "pizza.db"))
	require.NoError(t, err)
	return b
}

// openPostgresShop opens a backend on a new Postgres schema.
func openPostgresShop(t *testing.T) shop.Backend {
	t.Helper()
	url, schema := pgtest.NewSchema(t)
	b, err := pgshop.OpenPostgres(context.Background(), url, schema)
	require.NoError(t, err)
	return b
}

// backends opens each backend, by name, for the tests that run on both.
var backends = map[string]func(t *testing.T) shop.Backend{"sqlite": openSQLiteShop, "postgres": openPostgresShop}

func TestShopOnSQLite(t *testing.T) {
	t.Parallel()
	exercise(t, openSQLiteShop(t))
}

func TestShopOnPostgres(t *testing.T) {
	t.Parallel()
	exercise(t, openPostgresShop(t))
}

func exercise(t *testing.T, b shop.Backend) {
	s, c := runShop(t, b)

	// Create: 202, then the order appears, created.
	id := c.create(`{"username":"lee","items":["margherita"]}`)
	o := c.waitStatus(id, shop.StatusCreated)
	require.Equal(t, "lee", o.Username)
	require.Equal(t, []string{"margherita"}, o.Items)
	// The reference system's body alone is enough.
	bob := c.create(`{"username":"bob"}`)
	c.waitStatus(bob, shop.StatusCreated)

	// A client retry with the same Idempotency-Key: the same answer, one order.
	k1 := c.create(`{"username":"amy"}`, "Idempotency-Key", "amy-1")
	require.Equal(t, k1, c.create(`{"username":"amy"}`, "Idempotency-Key", "amy-1"))
	code, _ := c.do("POST", "/orders", `{"username":"not-amy"}`, "Idempotency-Key", "amy-1")
	require.Equal(t, http.StatusUnprocessableEntity, code)
	c.waitStatus(k1, shop.StatusCreated)

	// Bad input persists nothing.
	for _, tc := range []struct {
		body string
		code int
	}{{`{"username":""}`, 400}, {`{"username":"` + strings.Repeat("x", 46) + `"}`, 400}, {`{"user":"lee"}`, 400}, {`nope`, 400}} {
		code, body := c.do("POST", "/orders", tc.body)
		require.Equal(t, tc.code, code, "%s: %s", tc.body, body)
	}
	req, _ := http.NewRequest("POST", c.url+"/orders", strings.NewReader(`{"username":"x"}`))
	resp, err := http.DefaultClient.Do(req) // no content type
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode)
	require.Len(t, c.all(), 3)

	// Cancel: by username as in the reference system, then by id; the answers are the truth.
	code, body := c.do("PUT", "/orders", `{"username":"lee"}`)
	require.Equal(t, 200, code, string(body))
	require.Equal(t, shop.StatusCancelled, c.order(id).Status)
	code, _ = c.do("PUT", "/orders", `{"username":"lee"}`)
	require.Equal(t, http.StatusConflict, code)
	code, _ = c.do("PUT", "/orders", `{"username":"nobody"}`)
	require.Equal(t, http.StatusNotFound, code)
	code, _ = c.do("PUT", "/orders", `{}`)
	require.Equal(t, http.StatusBadRequest, code)
	code, _ = c.do("POST", "/orders/"+bob+"/cancel", "")
	require.Equal(t, 200, code)
	// A cancel the workflow can refuse without running stores nothing: an ID too
	// long for an order (400), a 200 KB one (413).
	code, _ = c.do("POST", "/orders/"+strings.Repeat("x", shop.MaxOrderIDLength+1)+"/cancel", "")
	require.Equal(t, http.StatusBadRequest, code)
	code, _ = c.do("PUT", "/orders", `{"id":"`+strings.Repeat("x", 200<<10)+`"}`)
	require.Equal(t, http.StatusRequestEntityTooLarge, code)
	code, _ = c.do("GET", "/orders/nope", "")
	require.Equal(t, http.StatusNotFound, code)

	// A create that fails for good lands in the DLQ; after the fix a replay
	// completes it exactly once.
	s.SetFailCreate(func(c shop.CreateOrder) error {
		if strings.HasPrefix(c.Username, "poison") {
			return storagefirst.Permanentf("the kitchen rejects %s", c.Username)
		}
		return nil
	})
	var poisoned []string
	for i := range 3 {
		poisoned = append(poisoned, c.create(fmt.Sprintf(`{"username":"poison-%d"}`, i)))
	}
	for _, p := range poisoned {
		c.waitStatus(p, shop.StatusFailed)
	}
	code, body = c.do("GET", "/admin/stats", "")
	require.Equal(t, 200, code)
	var stats map[string]storagefirst.QueueStats
	require.NoError(t, json.Unmarshal(body, &stats))
	require.Equal(t, int64(3), stats["create-order"].Dead)
	s.SetFailCreate(nil)
	code, body = c.do("POST", "/admin/dlq/replay?dry_run=true", "")
	require.Equal(t, 200, code)
	require.Contains(t, string(body), `"replayed":3`)
	code, body = c.do("POST", "/admin/dlq/replay", "")
	require.Equal(t, 200, code, string(body))
	var sum dlq.Summary
	require.NoError(t, json.Unmarshal(body, &sum))
	require.Equal(t, 3, sum.Replayed)
	for _, p := range poisoned {
		c.waitStatus(p, shop.StatusCreated)
	}
	code, body = c.do("POST", "/admin/dlq/replay", "")
	require.Equal(t, 200, code)
	require.Contains(t, string(body), `"replayed":0`, "nothing left")
	require.Len(t, c.all(), 6, "each order exactly once")

	// A cancel that fails unexpectedly: 502, and the request is in the DLQ; a
	// replay after the fix cancels it.
	s.SetFailCancel(func(shop.CancelOrder) error { return workflow.Errorf("Oven.OnFire", "the oven is on fire") })
	code, body = c.do("PUT", "/orders", `{"username":"amy"}`)
	require.Equal(t, http.StatusBadGateway, code, string(body))
	require.Contains(t, string(body), "CancelFailed")
	code, body = c.do("GET", "/admin/stats", "")
	require.Equal(t, 200, code)
	require.NoError(t, json.Unmarshal(body, &stats))
	require.Equal(t, int64(1), stats["cancel-order"].Dead)
	s.SetFailCancel(nil)
	code, _ = c.do("POST", "/admin/dlq/replay?queue=cancel-order", "")
	require.Equal(t, 200, code)
	c.waitStatus(k1, shop.StatusCancelled)

	code, body = c.do("GET", "/healthz", "")
	require.Equal(t, 200, code, string(body))
}
