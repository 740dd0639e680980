package workflow_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/workflow"
)

func TestHTTPHandlerAnswersTheTruth(t *testing.T) {
	t.Parallel()
	starter := workflow.StarterFunc(func(ctx context.Context, in json.RawMessage) (workflow.Result, error) {
		var body struct {
			ActionType string
			Body       struct{ Username string }
		}
		_ = json.Unmarshal(in, &body)
		res := workflow.Result{ExecutionID: "exec-1", Status: workflow.StatusSucceeded, Output: json.RawMessage(`{"status":"cancelled"}`)}
		switch body.Body.Username {
		case "ghost":
			res = workflow.Result{ExecutionID: "exec-2", Status: workflow.StatusFailed, Error: "OrderNotFound", Cause: "no order for ghost"}
		case "broken":
			res = workflow.Result{ExecutionID: "exec-3", Status: workflow.StatusFailed, Error: "CancelFailed", Cause: "in the DLQ"}
		case "slow":
			res = workflow.Result{ExecutionID: "exec-4", Status: workflow.StatusTimedOut, Error: "States.Timeout", Cause: "timed out"}
		case "down":
			return workflow.Result{}, errors.New("store down")
		}
		require.Equal(t, "cancel", body.ActionType)
		return res, res.Err()
	})
	h, err := workflow.NewHTTPHandler(workflow.HTTPConfig{Starter: starter,
		Status: map[string]int{"OrderNotFound": http.StatusNotFound},
		Input: func(_ *http.Request, body []byte) (json.RawMessage, error) {
			return json.Marshal(map[string]any{"actionType": "cancel", "body": json.RawMessage(body)})
		}})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	defer srv.Close()
	put := func(body, ct string) (int, string, string) {
		req, _ := http.NewRequest(http.MethodPut, srv.URL+"/orders", strings.NewReader(body))
		req.Header.Set("Content-Type", ct)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	code, ct, body := put(`{"username":"lee"}`, "application/json")
	require.Equal(t, 200, code)
	require.Equal(t, "application/json", ct)
	require.JSONEq(t, `{"status":"cancelled"}`, body)
	code, ct, body = put(`{"username":"ghost"}`, "application/json")
	require.Equal(t, 404, code)
	require.Equal(t, "application/problem+json", ct)
	require.Contains(t, body, `"error":"OrderNotFound"`)
	require.Contains(t, body, `"execution_id":"exec-2"`)
	code, _, _ = put(`{"username":"broken"}`, "application/json")
	require.Equal(t, 502, code, "an unmapped failure is a bad gateway, never a success")
	code, _, _ = put(`{"username":"slow"}`, "application/json")
	require.Equal(t, 504, code)
	code, _, _ = put(`{"username":"down"}`, "application/json")
	require.Equal(t, 503, code)
	code, _, _ = put(`{"username":`, "application/json")
	require.Equal(t, 400, code)
	code, _, _ = put(`{"username":"lee"}`, "text/plain")
	require.Equal(t, 415, code)
}
