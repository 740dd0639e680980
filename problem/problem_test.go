package problem_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/problem"
)

func TestDetailsJSON(t *testing.T) {
	t.Parallel()
	d := problem.Details{Status: 404, Detail: "no such order", Instance: "c-1",
		Extensions: map[string]any{"error": "OrderNotFound", "status": 1}}
	require.JSONEq(t, `{"type":"about:blank","title":"Not Found","status":404,"detail":"no such order","instance":"c-1","error":"OrderNotFound"}`,
		string(d.Body()))
	var back problem.Details
	require.NoError(t, json.Unmarshal(d.Body(), &back))
	require.Equal(t, "OrderNotFound", back.Extensions["error"])
	require.Equal(t, 404, back.Status)
	require.Equal(t, "c-1", back.Instance)

	bad := problem.Details{Status: 400, Extensions: map[string]any{"f": func() {}}}
	require.JSONEq(t, `{"type":"about:blank","title":"Bad Request","status":400}`, string(bad.Body()))
}

func TestRoutesAnswersProblems(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, r.PathValue("id")) })
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) })
	srv := httptest.NewServer(problem.Routes(mux, func(r *http.Request) string { return "corr-" + r.Method }))
	defer srv.Close()

	get := func(method, path string) (*http.Response, problem.Details, string) {
		req, err := http.NewRequest(method, srv.URL+path, nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		var d problem.Details
		if resp.Header.Get("Content-Type") == problem.ContentType {
			require.NoError(t, json.Unmarshal(b, &d))
		}
		return resp, d, string(b)
	}
	resp, _, body := get("GET", "/orders/42")
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "42", body)

	resp, d, _ := get("GET", "/nowhere")
	require.Equal(t, 404, resp.StatusCode)
	require.Equal(t, problem.ContentType, resp.Header.Get("Content-Type"))
	require.Equal(t, problem.Details{Type: problem.TypePrefix + "not-found", Title: "Not Found", Status: 404,
		Detail: "there is nothing at /nowhere", Instance: "corr-GET"}, d)

	resp, d, _ = get("DELETE", "/orders")
	require.Equal(t, 405, resp.StatusCode)
	require.Equal(t, problem.ContentType, resp.Header.Get("Content-Type"))
	require.Equal(t, "POST", resp.Header.Get("Allow"))
	require.Equal(t, problem.TypePrefix+"method-not-allowed", d.Type)
	require.Equal(t, "corr-DELETE", d.Instance)
	require.Contains(t, d.Detail, "use POST")

	resp, _, _ = get("POST", "/orders")
	require.Equal(t, 202, resp.StatusCode)
}

func TestDetailSpeaksTheClientsLanguage(t *testing.T) {
	t.Parallel()
	require.Equal(t, "validation failed: username is required",
		problem.Detail(errors.New("storagefirst: invalid envelope: ingest: validation failed: username is required")))
	require.Equal(t, "the input is not JSON", problem.Detail(fmt.Errorf("%w: the input is not JSON", errors.New("workflow: invalid input"))))
	require.Equal(t, "the request is not valid", problem.Detail(errors.New("ingest: invalid envelope")))
	require.Empty(t, problem.Detail(nil))
}

// Every problem answer tells browsers not to sniff its type.
func TestProblemsAreNosniff(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	problem.Write(rec, problem.Details{Status: http.StatusBadRequest})
	require.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
	require.Equal(t, "nosniff", problem.Header("", "").Get("X-Content-Type-Options"))
}
