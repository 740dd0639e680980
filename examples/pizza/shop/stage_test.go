package shop_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/apigateway"
	"github.com/storagefirst/storagefirst-go/examples/pizza/shop"
)

// Behind a REST API stage the client calls /prod/orders while the shop sees
// /orders: next_url and the Link header, resolved against the URL the client
// called, keep the stage.
func TestNextURLKeepsTheStage(t *testing.T) {
	t.Parallel()
	s, c := runShop(t, openSQLiteShop(t))
	for _, u := range []string{"ann", "ben", "cat"} {
		c.create(`{"username":"` + u + `"}`)
	}
	lambda := apigateway.V1(s.Handler())
	get := func(query map[string]string) (events.APIGatewayProxyResponse, shop.Page) {
		resp, err := lambda(context.Background(), events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: "/orders",
			Resource: "/orders", QueryStringParameters: query, Headers: map[string]string{"Host": "abc.execute-api.example"},
			RequestContext: events.APIGatewayProxyRequestContext{Stage: "prod", Path: "/prod/orders"}})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, resp.Body)
		var p shop.Page
		require.NoError(t, json.Unmarshal([]byte(resp.Body), &p))
		return resp, p
	}
	resp, page := get(map[string]string{"limit": "2"})
	require.Len(t, page.Orders, 2)
	called, err := url.Parse("https://abc.execute-api.example/prod/orders?limit=2")
	require.NoError(t, err)
	ref, err := url.Parse(page.NextURL)
	require.NoError(t, err)
	next := called.ResolveReference(ref)
	require.Equal(t, "/prod/orders", next.Path)
	require.Equal(t, page.Next, next.Query().Get("after"))
	require.Equal(t, "2", next.Query().Get("limit"))
	require.Equal(t, "<"+page.NextURL+`>; rel="next"`, resp.Headers["Link"])

	// Following it (API Gateway strips the stage again) gives the last page.
	_, last := get(map[string]string{"limit": next.Query().Get("limit"), "after": next.Query().Get("after")})
	require.Len(t, last.Orders, 1)
	require.Empty(t, last.NextURL)
}
