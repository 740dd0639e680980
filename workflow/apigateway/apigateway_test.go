package apigateway_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/workflow"
	"github.com/storagefirst/storagefirst-go/workflow/apigateway"
)

func TestV1AnswersTheTruth(t *testing.T) {
	t.Parallel()
	starter := workflow.StarterFunc(func(ctx context.Context, in json.RawMessage) (workflow.Result, error) {
		var body struct{ Username string }
		_ = json.Unmarshal(in, &body)
		res := workflow.Result{ExecutionID: "exec-1", Status: workflow.StatusSucceeded, Output: json.RawMessage(`{"status":"cancelled"}`)}
		if body.Username == "ghost" {
			res = workflow.Result{ExecutionID: "exec-2", Status: workflow.StatusFailed, Error: "OrderNotFound", Cause: "no order for ghost"}
		}
		return res, res.Err()
	})
	h, err := workflow.NewHTTPHandler(workflow.HTTPConfig{Starter: starter, MaxBodyBytes: 64,
		Status: map[string]int{"OrderNotFound": 404}})
	require.NoError(t, err)
	v1 := apigateway.V1(h)

	resp, err := v1(context.Background(), events.APIGatewayProxyRequest{HTTPMethod: "PUT", Path: "/orders",
		Headers: map[string]string{"Content-Type": "application/json"}, Body: `{"username":"ghost"}`})
	require.NoError(t, err)
	require.Equal(t, 404, resp.StatusCode)
	require.Equal(t, "application/problem+json", resp.Headers["Content-Type"])

	resp, err = v1(context.Background(), events.APIGatewayProxyRequest{HTTPMethod: "PUT", Path: "/orders",
		Headers: map[string]string{"Content-Type": "application/json"}, IsBase64Encoded: true,
		Body: base64.StdEncoding.EncodeToString([]byte(`{"username":"lee"}`))})
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode)
	require.JSONEq(t, `{"status":"cancelled"}`, resp.Body)

	resp, err = v1(context.Background(), events.APIGatewayProxyRequest{HTTPMethod: "PUT", Path: "/orders",
		Headers: map[string]string{"Content-Type": "application/json"}, IsBase64Encoded: true, Body: "!!"})
	require.NoError(t, err)
	require.Equal(t, 400, resp.StatusCode)

	resp, err = v1(context.Background(), events.APIGatewayProxyRequest{HTTPMethod: "PUT", Path: "/orders",
		Headers: map[string]string{"Content-Type": "application/json"}, Body: `{"username":"` + string(make([]byte, 64)) + `"}`})
	require.NoError(t, err)
	require.Equal(t, 413, resp.StatusCode)
}
