package console_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/console"
	"github.com/storagefirst/storagefirst-go/internal/pgtest"
	"github.com/storagefirst/storagefirst-go/pgstore"
	"github.com/storagefirst/storagefirst-go/sqlitestore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/workflow"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const token = "test-token-0123456789"

type queue interface {
	storagefirst.Queue
	storagefirst.DeadLetters
	storagefirst.StatsReporter
}

func openSQLite(t *testing.T) queue {
	s, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "db"), sqlitestore.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	q, err := s.Queue("orders")
	require.NoError(t, err)
	return q
}

func openPostgres(t *testing.T) queue {
	url, schema := pgtest.NewSchema(t)
	pool, err := pgxpool.New(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	s, err := pgstore.New(pool, pgstore.Config{Schema: schema, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	_, err = s.Migrate(context.Background())
	require.NoError(t, err)
	q, err := s.Queue("orders")
	require.NoError(t, err)
	return q
}

// kill puts an envelope of the type into q and dead-letters it with the code.
func kill(t *testing.T, q queue, typ, code string) storagefirst.Envelope {
	t.Helper()
	ctx := context.Background()
	env, err := storagefirst.NewEnvelope(typ, []byte(`{"username":"ada"}`))
	require.NoError(t, err)
	env.Metadata = map[string]string{"tenant": "t1"}
	require.NoError(t, q.Put(ctx, env))
	ds, err := q.Claim(ctx, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	f := storagefirst.NewFailure(1, time.Now(), storagefirst.Permanent(fmt.Errorf("boom %s", code)))
	f.Code = code
	require.NoError(t, q.DeadLetter(ctx, ds[0].Lease, f))
	return env
}

type rig struct {
	srv  *httptest.Server
	q    queue
	logs *bytes.Buffer
	c    *http.Client
}

func newRig(t *testing.T, q queue, mut ...func(*console.Config)) *rig {
	logs := &bytes.Buffer{}
	cfg := console.Config{Auth: console.Auth{BearerToken: token, Users: map[string]string{"ops": "secret"}},
		Queues: []console.Queue{{Name: "orders", Stats: q, Dead: q}}, Logger: slog.New(slog.NewTextHandler(logs, nil))}
	for _, m := range mut {
		m(&cfg)
	}
	c, err := console.New(cfg)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/console/", c)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &rig{srv: srv, q: q, logs: logs, c: client}
}

func (r *rig) do(t *testing.T, method, path string, form url.Values, auth bool, hdr ...string) (int, string, http.Header) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, r.srv.URL+path, body)
	require.NoError(t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if auth {
		req.SetBasicAuth("ops", "secret")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := r.c.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(b), res.Header
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (r *rig) csrf(t *testing.T) string {
	t.Helper()
	status, body, _ := r.do(t, http.MethodGet, "/console/dead?queue=orders", nil, true)
	require.Equal(t, http.StatusOK, status, body)
	m := csrfRE.FindStringSubmatch(body)
	require.NotNil(t, m, "no CSRF token in the page")
	return m[1]
}

func (r *rig) dead(t *testing.T) int64 {
	st, err := r.q.Stats(context.Background())
	require.NoError(t, err)
	return st.Dead
}

func TestNewNeedsCredentials(t *testing.T) {
	_, err := console.New(console.Config{})
	require.ErrorContains(t, err, "Auth")
}

func TestRefusesWithoutCredentials(t *testing.T) {
	r := newRig(t, openSQLite(t))
	env := kill(t, r.q, "order.create", "E1")
	for _, path := range []string{"/console/", "/console/dead", "/console/dead/" + env.ID, "/console/queues", "/console/static/console.css"} {
		status, body, h := r.do(t, http.MethodGet, path, nil, false)
		require.Equal(t, http.StatusUnauthorized, status, path)
		require.NotContains(t, body, env.ID)
		require.Contains(t, strings.Join(h.Values("WWW-Authenticate"), ","), "Basic realm=")
	}
	// Wrong credentials, either kind.
	status, _, _ := r.do(t, http.MethodGet, "/console/", nil, false, "Authorization", "Bearer nope")
	require.Equal(t, http.StatusUnauthorized, status)
	req, _ := http.NewRequest(http.MethodGet, r.srv.URL+"/console/", nil)
	req.SetBasicAuth("ops", "wrong")
	res, err := r.c.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)

	// An action without credentials does nothing, even with a valid token.
	csrf := r.csrf(t)
	status, _, _ = r.do(t, http.MethodPost, "/console/dead/replay", url.Values{"csrf": {csrf}, "queue": {"orders"}, "id": {env.ID}}, false)
	require.Equal(t, http.StatusUnauthorized, status)
	require.Equal(t, int64(1), r.dead(t))
	require.Contains(t, r.logs.String(), "unauthenticated request refused")

	// The bearer token is admitted.
	status, body, _ := r.do(t, http.MethodGet, "/console/", nil, false, "Authorization", "Bearer "+token)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, "orders")
}

func TestRefusesActionsWithoutCSRFToken(t *testing.T) {
	r := newRig(t, openSQLite(t))
	env := kill(t, r.q, "order.create", "E1")
	form := url.Values{"queue": {"orders"}, "id": {env.ID}}
	status, _, _ := r.do(t, http.MethodPost, "/console/dead/replay", form, true)
	require.Equal(t, http.StatusForbidden, status)
	form.Set("csrf", "forged")
	status, _, _ = r.do(t, http.MethodPost, "/console/dead/replay", form, true)
	require.Equal(t, http.StatusForbidden, status)
	require.Equal(t, int64(1), r.dead(t))
	require.Contains(t, r.logs.String(), "bad CSRF token")

	// Another user's token does not pass either.
	other := newRig(t, r.q, func(c *console.Config) { c.CSRFKey = []byte("k") })
	form.Set("csrf", other.csrf(t))
	status, _, _ = r.do(t, http.MethodPost, "/console/dead/replay", form, true)
	require.Equal(t, http.StatusForbidden, status)

	// A cross-site browser request is refused even with a valid token.
	form.Set("csrf", r.csrf(t))
	status, _, _ = r.do(t, http.MethodPost, "/console/dead/replay", form, true, "Sec-Fetch-Site", "cross-site")
	require.Equal(t, http.StatusForbidden, status)
	status, _, _ = r.do(t, http.MethodPost, "/console/dead/replay", form, true, "Origin", "https://evil.example")
	require.Equal(t, http.StatusForbidden, status)
	require.Equal(t, int64(1), r.dead(t))
	// Actions are POSTs: a GET of an action path does nothing.
	status, _, _ = r.do(t, http.MethodGet, "/console/dead/replay?"+form.Encode(), nil, true)
	require.Equal(t, http.StatusNotFound, status)
	require.Equal(t, int64(1), r.dead(t))
}

func TestReplayOne(t *testing.T) {
	for name, open := range map[string]func(*testing.T) queue{"sqlite": openSQLite, "postgres": openPostgres} {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, open(t))
			env := kill(t, r.q, "order.create", "E_BAD")
			kept := kill(t, r.q, "order.create", "E_BAD")

			// The list shows both, the detail page the payload, metadata and failures.
			status, body, _ := r.do(t, http.MethodGet, "/console/dead?queue=orders", nil, true)
			require.Equal(t, http.StatusOK, status)
			require.Contains(t, body, env.ID)
			require.Contains(t, body, kept.ID)
			status, body, _ = r.do(t, http.MethodGet, "/console/dead/"+env.ID+"?queue=orders", nil, true)
			require.Equal(t, http.StatusOK, status, body)
			require.Contains(t, body, "&#34;username&#34;: &#34;ada&#34;")
			require.Contains(t, body, "tenant")
			require.Contains(t, body, "boom E_BAD")

			status, _, h := r.do(t, http.MethodPost, "/console/dead/replay",
				url.Values{"csrf": {r.csrf(t)}, "queue": {"orders"}, "id": {env.ID}}, true)
			require.Equal(t, http.StatusSeeOther, status)
			require.Contains(t, h.Get("Location"), "msg=replayed")
			require.Contains(t, h.Get("Location"), "done=1")

			st, err := r.q.Stats(context.Background())
			require.NoError(t, err)
			require.Equal(t, int64(1), st.Dead)
			require.Equal(t, int64(1), st.Ready)
			ds, err := r.q.Claim(context.Background(), 1, time.Minute)
			require.NoError(t, err)
			require.Len(t, ds, 1)
			require.Equal(t, env.ID, ds[0].Envelope.ID)
			require.NotEmpty(t, ds[0].Envelope.Metadata[storagefirst.MetadataReplayedAt])

			status, _, _ = r.do(t, http.MethodGet, "/console/dead/"+env.ID+"?queue=orders", nil, true)
			require.Equal(t, http.StatusNotFound, status)
			require.Regexp(t, `console: replay.*who=ops.*done=1`, r.logs.String())
		})
	}
}

func TestReplayMatchingIsADryRunFirst(t *testing.T) {
	r := newRig(t, openSQLite(t))
	a1 := kill(t, r.q, "a", "E1")
	b := kill(t, r.q, "b", "E1")
	a2 := kill(t, r.q, "a", "E2")
	csrf := r.csrf(t)
	status, body, _ := r.do(t, http.MethodPost, "/console/dead/replay-matching",
		url.Values{"csrf": {csrf}, "queue": {"orders"}, "type": {"a"}}, true)
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body, "Dry run")
	require.Contains(t, body, a1.ID)
	require.Contains(t, body, a2.ID)
	require.NotContains(t, body, b.ID)
	require.Equal(t, int64(3), r.dead(t), "a dry run replays nothing")

	// Confirming replays exactly the IDs the dry run showed.
	ids := regexp.MustCompile(`name="id" value="([^"]+)"`).FindAllStringSubmatch(body, -1)
	require.Len(t, ids, 2)
	form := url.Values{"csrf": {csrf}, "queue": {"orders"}, "confirm": {"yes"}}
	for _, m := range ids {
		form.Add("id", m[1])
	}
	status, _, _ = r.do(t, http.MethodPost, "/console/dead/replay", form, true)
	require.Equal(t, http.StatusSeeOther, status)
	require.Equal(t, int64(1), r.dead(t))

	// Filter by error code: what is left is b (E1).
	status, body, _ = r.do(t, http.MethodGet, "/console/dead?queue=orders&code=E2", nil, true)
	require.Equal(t, http.StatusOK, status)
	require.NotContains(t, body, b.ID)
	status, body, _ = r.do(t, http.MethodGet, "/console/dead?queue=orders&code=E1", nil, true)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, b.ID)
}

func TestPurgeNeedsConfirmation(t *testing.T) {
	r := newRig(t, openSQLite(t))
	env := kill(t, r.q, "a", "E1")
	csrf := r.csrf(t)
	form := url.Values{"csrf": {csrf}, "queue": {"orders"}, "id": {env.ID}}
	status, body, _ := r.do(t, http.MethodPost, "/console/dead/purge", form, true)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, "deleted for good")
	require.Equal(t, int64(1), r.dead(t))
	form.Set("confirm", "yes")
	status, _, h := r.do(t, http.MethodPost, "/console/dead/purge", form, true)
	require.Equal(t, http.StatusSeeOther, status)
	require.Contains(t, h.Get("Location"), "msg=purged")
	require.Contains(t, h.Get("Location"), "done=1")
	require.Equal(t, int64(0), r.dead(t))
	require.Regexp(t, `console: purge.*who=ops`, r.logs.String())
}

func TestPagingAndBounds(t *testing.T) {
	r := newRig(t, openSQLite(t), func(c *console.Config) { c.PageSize = 2; c.ScanLimit = 3 })
	var ids []string
	for range 5 {
		ids = append(ids, kill(t, r.q, "a", "E1").ID)
	}
	status, body, _ := r.do(t, http.MethodGet, "/console/dead?queue=orders", nil, true)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, ids[0])
	require.Contains(t, body, ids[1])
	require.NotContains(t, body, ids[2])
	require.Contains(t, body, "after="+ids[1])
	// The next page keeps the filter.
	status, body, _ = r.do(t, http.MethodGet, "/console/dead?queue=orders&type=a", nil, true)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, `href="/console/dead?queue=orders&amp;type=a&amp;after=`+ids[1]+`"`)
	status, body, _ = r.do(t, http.MethodGet, "/console/dead?queue=orders&after="+ids[1], nil, true)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, ids[2])
	require.Contains(t, body, ids[3])
	require.NotContains(t, body, ids[4])
	// A filter that matches nothing stops at the scan limit and offers to read on.
	status, body, _ = r.do(t, http.MethodGet, "/console/dead?queue=orders&code=NONE", nil, true)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, "stopped after reading 3")
	require.Contains(t, body, "after="+ids[2])
	// A bad time is a clear error.
	status, body, _ = r.do(t, http.MethodGet, "/console/dead?queue=orders&since=yesterday", nil, true)
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, body, "is not a time")
}

func TestOverviewAndWorkflows(t *testing.T) {
	ws := workflow.NewMemoryStore()
	exec := workflow.Execution{ID: "exec-1", Workflow: "cancel-order", Status: workflow.StatusFailed, State: "CancelFailed",
		Input: []byte(`{"id":"o1"}`), StartedAt: time.Now(), Deadline: time.Now().Add(time.Minute),
		History: []workflow.Event{{At: time.Now(), Type: "TaskFailed", State: "CancelOrder", Error: "OrderNotFound"}}}
	require.NoError(t, ws.Create(context.Background(), exec))
	r := newRig(t, openSQLite(t), func(c *console.Config) { c.Workflows = ws })
	kill(t, r.q, "a", "E1")
	status, body, _ := r.do(t, http.MethodGet, "/console/queues", nil, true)
	require.Equal(t, http.StatusOK, status)
	require.Regexp(t, `(?s)<th scope="row">orders</th>.*>1<span class="visually-hidden"> dead letters`, body)
	status, body, _ = r.do(t, http.MethodGet, "/console/workflows/exec-1", nil, true)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, "TaskFailed")
	require.Contains(t, body, "OrderNotFound")
	status, body, _ = r.do(t, http.MethodGet, "/console/workflows", nil, true)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, `href="/console/workflows/exec-1"`, "the memory store lists executions")
	status, _, _ = r.do(t, http.MethodGet, "/console/workflows/nope", nil, true)
	require.Equal(t, http.StatusNotFound, status)
}
