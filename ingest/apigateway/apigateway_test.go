package apigateway_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/ingest"
	"github.com/storagefirst/storagefirst-go/ingest/apigateway"
	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
)

type order struct {
	Username string `json:"username"`
}

type door struct {
	q  *sftest.MemoryQueue
	fd *ingest.FrontDoor[order]
}

func newDoor(t *testing.T) *door {
	t.Helper()
	d := &door{q: sftest.NewMemoryQueue(nil)}
	fd, err := ingest.NewFrontDoor[order](ingest.FrontDoorConfig{Sink: d.q, Type: "pizza.order.create",
		Idempotency: sftest.NewMemoryIdempotencyStore(nil)})
	require.NoError(t, err)
	d.fd = fd
	return d
}

func TestAPIGatewayFrontDoors(t *testing.T) {
	t.Parallel()
	d := newDoor(t)
	ctx := context.Background()
	body := `{"username":"lee"}`

	v1, err := apigateway.V1(d.fd)(ctx, events.APIGatewayProxyRequest{HTTPMethod: "POST", Path: "/orders",
		Headers: map[string]string{"content-type": "application/json", "idempotency-key": "k"}, Body: body})
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, v1.StatusCode, v1.Body)
	require.Equal(t, "application/json", v1.Headers["Content-Type"])
	var acc ingest.Accepted
	require.NoError(t, json.Unmarshal([]byte(v1.Body), &acc))

	// The same request through an HTTP API, base64-encoded: the same answer.
	v2, err := apigateway.V2(d.fd)(ctx, events.APIGatewayV2HTTPRequest{RawPath: "/orders",
		RequestContext:  events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST"}},
		Headers:         map[string]string{"content-type": "application/json", "idempotency-key": "k"},
		Body:            base64.StdEncoding.EncodeToString([]byte(body)),
		IsBase64Encoded: true})
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, v2.StatusCode, v2.Body)
	require.Contains(t, v2.Body, acc.ID)
	require.Len(t, d.q.Envelopes(), 1)

	bad, err := apigateway.V2(d.fd)(ctx, events.APIGatewayV2HTTPRequest{
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST"}},
		Headers:        map[string]string{"content-type": "application/json"}, Body: "!!", IsBase64Encoded: true})
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, bad.StatusCode)
	big, err := apigateway.V1(d.fd)(ctx, events.APIGatewayProxyRequest{HTTPMethod: "POST",
		Headers: map[string]string{"Content-Type": "application/json"}, Body: string(bytes.Repeat([]byte("a"), ingest.MaxBodyBytesDefault+1))})
	require.NoError(t, err)
	require.Equal(t, http.StatusRequestEntityTooLarge, big.StatusCode)
	// A base64 body is bounded as it is decoded: 413, not a decoded copy first.
	big2, err := apigateway.V2(d.fd)(ctx, events.APIGatewayV2HTTPRequest{RawPath: "/orders",
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST"}},
		Headers:        map[string]string{"content-type": "application/json"}, IsBase64Encoded: true,
		Body: base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("a"), ingest.MaxBodyBytesDefault+1))})
	require.NoError(t, err)
	require.Equal(t, http.StatusRequestEntityTooLarge, big2.StatusCode)
	require.Equal(t, ingest.ContentTypeProblem, big2.Headers["Content-Type"])
	// V1 multi-value headers reach the front door (the key is the first value).
	mv, err := apigateway.V1(d.fd)(ctx, events.APIGatewayProxyRequest{HTTPMethod: "POST", Path: "/orders",
		MultiValueHeaders: map[string][]string{"Content-Type": {"application/json"}, "Idempotency-Key": {"k"}}, Body: body})
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, mv.StatusCode, mv.Body)
	require.Equal(t, "true", mv.Headers[ingest.HeaderIdempotentReplayed], "the same key as above: replayed")
	d.q.FailNextPuts(1, errors.New("down"))
	down, err := apigateway.V1(d.fd)(ctx, events.APIGatewayProxyRequest{HTTPMethod: "POST",
		Headers: map[string]string{"Content-Type": "application/json"}, Body: body})
	require.NoError(t, err)
	require.Equal(t, http.StatusServiceUnavailable, down.StatusCode)
	require.Equal(t, "1", down.Headers["Retry-After"])
}
