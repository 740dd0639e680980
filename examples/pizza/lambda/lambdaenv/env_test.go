package lambdaenv_test

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/examples/pizza/lambda/lambdaenv"
)

// TestProxyHandlerDecodesBase64AndKeepsEveryHeader: API Gateway sends binary
// and some text bodies base64-encoded; the handler sees the decoded body, and
// every value of a repeated answer header goes back.
func TestProxyHandlerDecodesBase64AndKeepsEveryHeader(t *testing.T) {
	t.Parallel()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		_, _ = w.Write(b)
	})
	resp, err := lambdaenv.ProxyHandler(h)(context.Background(), events.APIGatewayProxyRequest{HTTPMethod: "POST", Path: "/orders",
		IsBase64Encoded: true, Body: base64.StdEncoding.EncodeToString([]byte(`{"username":"lee"}`))})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, `{"username":"lee"}`, resp.Body)
	require.Equal(t, []string{"a=1", "b=2"}, resp.MultiValueHeaders["Set-Cookie"])
}
