package shop_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/examples/pizza/shop"
	"github.com/storagefirst/storagefirst-go/examples/pizza/shop/pgshop"
	"github.com/storagefirst/storagefirst-go/examples/pizza/shop/sqliteshop"
	"github.com/storagefirst/storagefirst-go/internal/pgtest"
	"github.com/storagefirst/storagefirst-go/problem"
)

func TestHTTPSurfaceOnSQLite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b, err := sqliteshop.OpenSQLite(context.Background(), filepath.Join(dir, "pizza.db"))
	require.NoError(t, err)
	surface(t, b, dir)
}

func TestHTTPSurfaceOnPostgres(t *testing.T) {
	t.Parallel()
	url, schema := pgtest.NewSchema(t)
	b, err := pgshop.OpenPostgres(context.Background(), url, schema)
	require.NoError(t, err)
	surface(t, b, schema)
}

type answer struct {
	code   int
	header http.Header
	body   []byte
}

func (c client) send(method, path, contentType, body string, headers ...string) answer {
	c.t.Helper()
	req, err := http.NewRequest(method, c.url+path, strings.NewReader(body))
	require.NoError(c.t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if strings.HasPrefix(path, "/admin/") {
		req.Header.Set("Authorization", "Bearer "+adminToken)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return answer{resp.StatusCode, resp.Header, b}
}

// leaks are what no answer may carry: the module's package prefixes, Go type
// names, the store's location.
var leaks = regexp.MustCompile(`storagefirst: |ingest: |workflow: |shop\.|Go (struct|value)|pizza\.db|postgres://`)

// microUTC is the one timestamp format: RFC 3339, UTC, microseconds.
var microUTC = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)

// surface drives the shop's HTTP surface as a client would, badly, and checks
// that every error is the same problem+json shape with the correlation ID, that
// nothing internal leaks, and that paging and times read one way. secret is the
// store's location (a file's directory, a schema), which no answer may name.
func surface(t *testing.T, b shop.Backend, secret string) {
	_, c := runShop(t, b)
	isProblem := func(a answer, status int, what string) problem.Details {
		t.Helper()
		require.Equal(t, status, a.code, "%s: %s", what, a.body)
		require.Equal(t, problem.ContentType, a.header.Get("Content-Type"), what)
		corr := a.header.Get(shop.HeaderCorrelationID)
		require.NotEmpty(t, corr, what)
		var members map[string]any
		require.NoError(t, json.Unmarshal(a.body, &members), what)
		for _, k := range []string{"type", "title", "status", "detail", "instance"} {
			require.Contains(t, members, k, "%s: %s", what, a.body)
		}
		for k := range members {
			require.Contains(t, []string{"type", "title", "status", "detail", "instance", "execution_id", "error"}, k, what)
		}
		var d problem.Details
		require.NoError(t, json.Unmarshal(a.body, &d))
		require.Equal(t, corr, d.Instance, what)
		require.Equal(t, status, d.Status, what)
		require.True(t, strings.HasPrefix(d.Type, problem.TypePrefix), "%s: type %s", what, d.Type)
		require.NotRegexp(t, leaks, string(a.body), what)
		require.NotContains(t, string(a.body), secret, what)
		return d
	}
	const js = "application/json"

	// Errors of every route, and of the router itself.
	isProblem(c.send("POST", "/orders", js, `{"username":""}`), 400, "create: invalid")
	d := isProblem(c.send("POST", "/orders", js, `{"username":5}`), 400, "create: wrong type")
	require.Contains(t, d.Detail, "username")
	isProblem(c.send("POST", "/orders", js, `[1]`), 400, "create: not an object")
	isProblem(c.send("POST", "/orders", js, `nope`), 400, "create: not JSON")
	isProblem(c.send("POST", "/orders", "text/plain", `{"username":"x"}`), 415, "create: not JSON")
	a := c.send("POST", "/orders", js, `{"username":""}`, shop.HeaderCorrelationID, "my-request-1")
	require.Equal(t, "my-request-1", isProblem(a, 400, "create: client's correlation ID").Instance)
	isProblem(c.send("PUT", "/orders", js, `{"username":"nobody"}`), 404, "cancel: no order")
	isProblem(c.send("PUT", "/orders", js, `{}`), 400, "cancel: nothing named")
	d = isProblem(c.send("PUT", "/orders", js, `{"username":5}`), 400, "cancel: wrong type")
	require.Contains(t, d.Detail, "username")
	isProblem(c.send("PUT", "/orders", js, `[`), 400, "cancel: not JSON")
	isProblem(c.send("PUT", "/orders", "text/plain", `{}`), 415, "cancel: not JSON")
	isProblem(c.send("GET", "/orders/nope", "", ""), 404, "get: no order")
	isProblem(c.send("GET", "/orders?limit=0", "", ""), 400, "list: bad limit")
	isProblem(c.send("GET", "/orders?limit=x", "", ""), 400, "list: bad limit")
	isProblem(c.send("POST", "/admin/dlq/replay?queue=nope", "", ""), 400, "replay: bad queue")
	isProblem(c.send("GET", "/nowhere", "", ""), 404, "router: unknown path")
	a = c.send("DELETE", "/orders", "", "")
	isProblem(a, 405, "router: wrong method")
	require.ElementsMatch(t, []string{"GET", "HEAD", "POST", "PUT"}, strings.Split(strings.ReplaceAll(a.header.Get("Allow"), " ", ""), ","))

	// Successes carry the correlation ID too; /healthz names the store's kind only.
	a = c.send("GET", "/healthz", "", "")
	require.Equal(t, 200, a.code)
	require.NotEmpty(t, a.header.Get(shop.HeaderCorrelationID))
	require.NotContains(t, string(a.body), secret)
	var health map[string]string
	require.NoError(t, json.Unmarshal(a.body, &health))
	require.Contains(t, []string{"sqlite", "postgres"}, health["store"])

	// Paging: next is the cursor, next_url the link (and the Link header).
	var ids []string
	for _, u := range []string{"ann", "ben", "cat"} {
		ids = append(ids, c.create(`{"username":"`+u+`"}`))
	}
	a = c.send("GET", "/orders?limit=2", "", "")
	require.Equal(t, 200, a.code)
	var page shop.Page
	require.NoError(t, json.Unmarshal(a.body, &page))
	require.Len(t, page.Orders, 2)
	require.Equal(t, page.Orders[1].ID, page.Next)
	require.Equal(t, "?after="+page.Next+"&limit=2", page.NextURL)
	require.Equal(t, "<"+page.NextURL+`>; rel="next"`, a.header.Get("Link"))
	a = c.send("GET", "/orders"+page.NextURL, "", "")
	require.Equal(t, 200, a.code)
	var last shop.Page
	require.NoError(t, json.Unmarshal(a.body, &last))
	require.Len(t, last.Orders, 1)
	require.Empty(t, last.Next)
	require.Empty(t, last.NextURL)
	require.Empty(t, a.header.Get("Link"))

	// Times: one precision in every answer.
	c.waitStatus(ids[0], shop.StatusCreated)
	a = c.send("POST", "/orders/"+ids[0]+"/cancel", "", "")
	require.Equal(t, 200, a.code, string(a.body))
	var cancelled, got map[string]any
	require.NoError(t, json.Unmarshal(a.body, &cancelled))
	require.NoError(t, json.Unmarshal(c.send("GET", "/orders/"+ids[0], "", "").body, &got))
	for _, m := range []map[string]any{cancelled, got} {
		require.Regexp(t, microUTC, m["created_at"])
		require.Regexp(t, microUTC, m["updated_at"])
	}
	require.Equal(t, cancelled["updated_at"], got["updated_at"])

	// Stats: ages in seconds.
	a = c.send("GET", "/admin/stats", "", "")
	require.Equal(t, 200, a.code)
	var stats map[string]map[string]any
	require.NoError(t, json.Unmarshal(a.body, &stats))
	require.Contains(t, stats["create-order"], "oldest_ready_age_seconds")
	require.NotContains(t, stats["create-order"], "oldest_ready_age")
}
