package console_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/console"
	"github.com/storagefirst/storagefirst-go/workflow"
)

// The workflow lookup escapes the ID into the path it redirects to.
func TestWorkflowLookupEscapesTheID(t *testing.T) {
	ws := workflow.NewMemoryStore()
	require.NoError(t, ws.Create(context.Background(), workflow.Execution{ID: "a/b?c", Workflow: "w",
		Status: workflow.StatusRunning, State: "S", Input: []byte(`{}`), StartedAt: time.Now(), Deadline: time.Now().Add(time.Minute)}))
	r := newRig(t, openSQLite(t), func(c *console.Config) { c.Workflows = ws })
	status, _, h := r.do(t, http.MethodGet, "/console/workflows?id="+url.QueryEscape("../../dead?queue=x"), nil, true)
	require.Equal(t, http.StatusSeeOther, status)
	require.Equal(t, "/console/workflows/..%2F..%2Fdead%3Fqueue=x", h.Get("Location"))
	status, _, h = r.do(t, http.MethodGet, "/console/workflows?id="+url.QueryEscape("a/b?c"), nil, true)
	require.Equal(t, http.StatusSeeOther, status)
	status, body, _ := r.do(t, http.MethodGet, h.Get("Location"), nil, true)
	require.Equal(t, http.StatusOK, status, "the escaped lookup finds the execution: %s", body)
}

// The static assets: files only, no directory listing, and nosniff.
func TestStaticServesFilesOnly(t *testing.T) {
	r := newRig(t, openSQLite(t))
	status, _, h := r.do(t, http.MethodGet, "/console/static/console.css", nil, true)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
	for _, p := range []string{"/console/static/"} {
		status, body, h := r.do(t, http.MethodGet, p, nil, true)
		require.Equal(t, http.StatusNotFound, status, "%s: %s", p, body)
		require.NotContains(t, body, "console.css")
		require.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
	}
}

// A page's message comes from a fixed set of codes and counts, so a crafted link
// cannot make the console show any other text.
func TestFlashIsNotSpoofable(t *testing.T) {
	r := newRig(t, openSQLite(t))
	status, body, _ := r.do(t, http.MethodGet, "/console/dead?queue=orders&msg="+url.QueryEscape("Session expired: log in at evil.example"), nil, true)
	require.Equal(t, http.StatusOK, status)
	require.NotContains(t, body, "evil.example")
	require.NotContains(t, body, `class="flash"`)
	status, body, _ = r.do(t, http.MethodGet, "/console/dead?queue=orders&msg=replayed&done=2&gone=1&failed=x", nil, true)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, "Replayed 2; 1 already gone.")
}
