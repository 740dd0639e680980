package workflow_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/problem"
	"github.com/storagefirst/storagefirst-go/workflow"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The cause of a failure whose name is not in HTTPConfig.Status never reaches
// the client (it goes to the log with the correlation ID); a listed one's does.
func TestHTTPHandlerKeepsUnlistedCausesInTheLog(t *testing.T) {
	t.Parallel()
	const leak = "ERROR: relation \"orders\" does not exist (SQLSTATE 42P01) goroutine 7 [running]"
	starter := workflow.StarterFunc(func(ctx context.Context, in json.RawMessage) (workflow.Result, error) {
		res := workflow.Result{ExecutionID: "exec-9", Status: workflow.StatusFailed, Error: "States.TaskFailed", Cause: leak}
		if strings.Contains(string(in), "ghost") {
			res = workflow.Result{ExecutionID: "exec-8", Status: workflow.StatusFailed, Error: "OrderNotFound", Cause: "there is no order ghost"}
		}
		return res, res.Err()
	})
	var logs lockedBuffer
	h, err := workflow.NewHTTPHandler(workflow.HTTPConfig{Starter: starter,
		Status: map[string]int{"OrderNotFound": http.StatusNotFound},
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	call := func(body string) (*httptest.ResponseRecorder, problem.Details) {
		req := httptest.NewRequest(http.MethodPost, "/orders/x/cancel", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(workflow.HeaderCorrelationIDDefault, "corr-502")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var d problem.Details
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &d))
		return rec, d
	}
	rec, d := call(`{"username":"lee"}`)
	require.Equal(t, http.StatusBadGateway, rec.Code)
	require.NotContains(t, rec.Body.String(), "SQLSTATE")
	require.NotContains(t, rec.Body.String(), "goroutine")
	require.Contains(t, d.Detail, "States.TaskFailed")
	require.Equal(t, "States.TaskFailed", d.Extensions["error"])
	require.Equal(t, "corr-502", d.Instance)
	require.Contains(t, logs.String(), "SQLSTATE 42P01")
	require.Contains(t, logs.String(), "corr-502")

	rec, d = call(`{"username":"ghost"}`)
	require.Equal(t, http.StatusNotFound, rec.Code)
	require.Equal(t, "there is no order ghost", d.Detail)
}
