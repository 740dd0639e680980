package workflow_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/problem"
	"github.com/storagefirst/storagefirst-go/workflow"
)

// Every answer carries the correlation ID; a problem's instance is it, its
// execution is named in execution_id and X-Execution-Id, and its detail speaks
// of the request, not of this module's packages.
func TestHTTPHandlerProblemsCarryTheCorrelationID(t *testing.T) {
	t.Parallel()
	starter := workflow.StarterFunc(func(ctx context.Context, in json.RawMessage) (workflow.Result, error) {
		if strings.Contains(string(in), "ghost") {
			res := workflow.Result{ExecutionID: "exec-2", Status: workflow.StatusFailed, Error: "OrderNotFound", Cause: "no order for ghost"}
			return res, res.Err()
		}
		return workflow.Result{}, fmt.Errorf("%w: give an id", workflow.ErrInvalidInput)
	})
	h, err := workflow.NewHTTPHandler(workflow.HTTPConfig{Starter: starter, Status: map[string]int{"OrderNotFound": 404}})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	defer srv.Close()
	do := func(body, corr string) (*http.Response, problem.Details) {
		req, _ := http.NewRequest(http.MethodPut, srv.URL+"/orders", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if corr != "" {
			req.Header.Set("X-Correlation-Id", corr)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, problem.ContentType, resp.Header.Get("Content-Type"))
		var d problem.Details
		require.NoError(t, json.Unmarshal(b, &d))
		return resp, d
	}
	resp, d := do(`{"username":"ghost"}`, "c-1")
	require.Equal(t, 404, resp.StatusCode)
	require.Equal(t, "c-1", resp.Header.Get("X-Correlation-Id"))
	require.Equal(t, "exec-2", resp.Header.Get("X-Execution-Id"))
	require.Equal(t, problem.Details{Type: workflow.ProblemTypePrefix + "workflow-failed", Title: "Not Found", Status: 404,
		Detail: "no order for ghost", Instance: "c-1", Extensions: map[string]any{"execution_id": "exec-2", "error": "OrderNotFound"}}, d)

	resp, d = do(`{}`, "")
	require.Equal(t, 400, resp.StatusCode)
	require.NotEmpty(t, resp.Header.Get("X-Correlation-Id"), "generated")
	require.Equal(t, resp.Header.Get("X-Correlation-Id"), d.Instance)
	require.Equal(t, "give an id", d.Detail)
}
