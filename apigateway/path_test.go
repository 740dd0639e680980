package apigateway_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/apigateway"
)

func v2Event(rawPath, stage string) events.APIGatewayV2HTTPRequest {
	return events.APIGatewayV2HTTPRequest{RawPath: rawPath, RawQueryString: "limit=2",
		RequestContext: events.APIGatewayV2HTTPRequestContext{Stage: stage,
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: rawPath}}}
}

// On a named HTTP API stage, the path begins with "/{stage}": the handler sees
// the path without it, as on $default.
func TestV2StripsANamedStage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, c := range []struct{ raw, stage, want string }{
		{"/prod/orders", "prod", "/orders"},
		{"/prod", "prod", "/"},
		{"/production/orders", "prod", "/production/orders"},
		{"/orders", "$default", "/orders"},
		{"/prod/orders", "$default", "/prod/orders"},
		{"/orders", "", "/orders"},
	} {
		r, err := apigateway.RequestV2(ctx, v2Event(c.raw, c.stage))
		require.NoError(t, err)
		require.Equal(t, c.want, r.URL.Path, "%s on stage %q", c.raw, c.stage)
		require.Equal(t, "limit=2", r.URL.RawQuery)
	}
}

// A path beginning with "//" stays a path: it is not read as a host
// ("//evil/orders" is not "/orders" on host evil).
func TestDoubleSlashPathIsAPath(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, err := apigateway.RequestV1(ctx, events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: "//evil/orders",
		Headers: map[string]string{"Host": "shop.example"}})
	require.NoError(t, err)
	require.Equal(t, "//evil/orders", r.URL.Path)
	require.Equal(t, "shop.example", r.Host)
	require.Equal(t, "//evil/orders", r.URL.EscapedPath())
	r, err = apigateway.RequestV2(ctx, v2Event("//evil/orders", "$default"))
	require.NoError(t, err)
	require.Equal(t, "//evil/orders", r.URL.Path)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	resp, err := apigateway.V1(mux)(ctx, events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: "//evil/orders"})
	require.NoError(t, err)
	require.NotEqual(t, http.StatusTeapot, resp.StatusCode, "//evil/orders must not be served as /orders")
}
