package apigateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/ingest"
	"github.com/storagefirst/storagefirst-go/ingest/apigateway"
)

// An unreadable body (invalid base64) is a 400 that still carries the
// client's correlation ID, in the header and as the problem's instance.
func TestInvalidBase64KeepsTheCorrelationID(t *testing.T) {
	t.Parallel()
	d := newDoor(t)
	resp, err := apigateway.V2(d.fd)(context.Background(), events.APIGatewayV2HTTPRequest{RawPath: "/orders",
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST"}},
		Headers:        map[string]string{"content-type": "application/json", "x-correlation-id": "corr-b64"},
		Body:           "!!not base64!!", IsBase64Encoded: true})
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, ingest.ContentTypeProblem, resp.Headers["Content-Type"])
	require.Equal(t, "corr-b64", resp.Headers[ingest.HeaderCorrelationIDDefault])
	var p ingest.Problem
	require.NoError(t, json.Unmarshal([]byte(resp.Body), &p))
	require.Equal(t, "corr-b64", p.Instance)
	require.Equal(t, ingest.ProblemInvalidBody, p.Type)
	require.Empty(t, d.q.Envelopes())
}
