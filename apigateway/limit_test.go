package apigateway_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/apigateway"
	"github.com/storagefirst/storagefirst-go/problem"
)

// sized writes n bytes of c in 64 KiB chunks, stopping at the first error.
func sized(n int, c byte, werr *error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		if c := r.Header.Get("X-Correlation-Id"); c != "" {
			w.Header().Set("X-Correlation-Id", c)
		} else {
			w.Header().Set("X-Correlation-Id", "generated-by-handler")
		}
		chunk := bytes.Repeat([]byte{c}, 64<<10)
		for n > 0 {
			k := min(n, len(chunk))
			if _, err := w.Write(chunk[:k]); err != nil {
				*werr = err
				return
			}
			n -= k
		}
	})
}

// A response Lambda could not return is a 502 problem, not a failed
// invocation, and the buffer stops growing at the limit.
func TestResponseIsBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ev := events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: "/big", Headers: map[string]string{"X-Correlation-Id": "corr-big"}}

	var werr error
	resp, err := apigateway.V1(sized(apigateway.MaxResponseBytes, 'a', &werr))(ctx, ev)
	require.NoError(t, err)
	require.NoError(t, werr)
	require.Equal(t, http.StatusOK, resp.StatusCode, "exactly the limit passes")
	require.Len(t, resp.Body, apigateway.MaxResponseBytes)

	resp, err = apigateway.V1(sized(apigateway.MaxResponseBytes+1, 'a', &werr))(ctx, ev)
	require.NoError(t, err)
	require.ErrorIs(t, werr, apigateway.ErrResponseTooLarge)
	require.Equal(t, http.StatusBadGateway, resp.StatusCode)
	require.Equal(t, problem.ContentType, resp.Headers["Content-Type"])
	require.Equal(t, "corr-big", resp.Headers["X-Correlation-Id"])
	require.Contains(t, resp.Body, apigateway.TypeResponseTooLarge)
	require.Contains(t, resp.Body, "corr-big")

	// Under the byte limit, but "<" is six bytes in JSON: past Lambda's 6 MB.
	werr = nil
	v2 := events.APIGatewayV2HTTPRequest{RawPath: "/big",
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET"}}}
	r2, err := apigateway.V2(sized(apigateway.LambdaResponseLimit/6+1, '<', &werr))(ctx, v2)
	require.NoError(t, err)
	require.NoError(t, werr)
	require.Equal(t, http.StatusBadGateway, r2.StatusCode)
	require.Equal(t, "generated-by-handler", r2.Headers["X-Correlation-Id"], "the handler's correlation ID")
	require.True(t, strings.HasPrefix(r2.Headers["Content-Type"], problem.ContentType))
}

// HEAD answers the headers of GET without a body.
func TestHeadHasNoBody(t *testing.T) {
	t.Parallel()
	var werr error
	resp, err := apigateway.V1(sized(10, 'a', &werr))(context.Background(), events.APIGatewayProxyRequest{HTTPMethod: "HEAD", Path: "/"})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Empty(t, resp.Body)
	require.Equal(t, "text/plain", resp.Headers["Content-Type"])
}

// The adapter's own 400 (an event that makes no request) carries the
// correlation ID too: the client's, or a new one.
func TestBadEventCarriesTheCorrelationID(t *testing.T) {
	t.Parallel()
	var werr error
	resp, err := apigateway.V1(sized(1, 'a', &werr))(context.Background(), events.APIGatewayProxyRequest{HTTPMethod: "BAD METHOD",
		Path: "/", Headers: map[string]string{"x-correlation-id": "corr-bad"}})
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, "corr-bad", resp.Headers["X-Correlation-Id"])
	require.Contains(t, resp.Body, `"instance":"corr-bad"`)
	r2, err := apigateway.V2(sized(1, 'a', &werr))(context.Background(), events.APIGatewayV2HTTPRequest{
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "BAD METHOD"}}})
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, r2.StatusCode)
	require.NotEmpty(t, r2.Headers["X-Correlation-Id"])
}
