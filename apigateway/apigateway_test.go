package apigateway_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/apigateway"
	"github.com/storagefirst/storagefirst-go/problem"
)

// echo answers what it was given, with two cookies and, for ?binary, a body
// that is not UTF-8.
func echo(t *testing.T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64))
		if err != nil {
			problem.Write(w, problem.Details{Status: http.StatusBadRequest, Detail: err.Error()})
			return
		}
		if r.URL.Query().Has("binary") {
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = w.Write([]byte{0xff, 0xfe, 0})
			return
		}
		c, _ := r.Cookie("session")
		sess := ""
		if c != nil {
			sess = c.Value
		}
		http.SetCookie(w, &http.Cookie{Name: "a", Value: "1"})
		http.SetCookie(w, &http.Cookie{Name: "b", Value: "2"})
		w.Header().Add("Vary", "Accept")
		w.Header().Add("Vary", "Origin")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Header().Set("X-Late", "not sent") // after WriteHeader: ignored, as in net/http
		_ = json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "path": r.URL.Path, "id": r.PathValue("id"),
			"tags": r.URL.Query()["tag"], "accept": r.Header.Values("Accept"), "session": sess, "body": string(body),
			"remote": r.RemoteAddr, "host": r.Host})
	})
}

func decode(t *testing.T, body string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &m))
	return m
}

func TestV1(t *testing.T) {
	t.Parallel()
	v1 := apigateway.V1(echo(t))
	resp, err := v1(context.Background(), events.APIGatewayProxyRequest{HTTPMethod: "POST", Path: "/orders/o%2F1/cancel",
		PathParameters:                  map[string]string{"id": "o/1"},
		Headers:                         map[string]string{"Accept": "text/plain", "Host": "shop.example"},
		MultiValueHeaders:               map[string][]string{"Accept": {"text/plain", "application/json"}, "Cookie": {"session=s1"}},
		QueryStringParameters:           map[string]string{"tag": "b"},
		MultiValueQueryStringParameters: map[string][]string{"tag": {"a", "b"}},
		RequestContext:                  events.APIGatewayProxyRequestContext{Identity: events.APIGatewayRequestIdentity{SourceIP: "192.0.2.1"}},
		IsBase64Encoded:                 true, Body: base64.StdEncoding.EncodeToString([]byte("héllo"))})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.Equal(t, map[string]any{"method": "POST", "path": "/orders/o/1/cancel", "id": "o/1", "tags": []any{"a", "b"},
		"accept": []any{"text/plain", "application/json"}, "session": "s1", "body": "héllo", "remote": "192.0.2.1:0",
		"host": "shop.example"}, decode(t, resp.Body))
	require.False(t, resp.IsBase64Encoded)
	require.Equal(t, []string{"a=1", "b=2"}, resp.MultiValueHeaders["Set-Cookie"])
	require.Equal(t, []string{"Accept", "Origin"}, resp.MultiValueHeaders["Vary"])
	require.Equal(t, "application/json", resp.Headers["Content-Type"])
	require.NotContains(t, resp.MultiValueHeaders, "X-Late")

	resp, err = v1(context.Background(), events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: "/", QueryStringParameters: map[string]string{"binary": ""}})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.True(t, resp.IsBase64Encoded)
	require.Equal(t, base64.StdEncoding.EncodeToString([]byte{0xff, 0xfe, 0}), resp.Body)

	// The handler's limit bounds a base64 body as it is decoded; bad base64 is a
	// read error.
	for _, b := range []string{base64.StdEncoding.EncodeToString(make([]byte, 65)), "!!"} {
		resp, err = v1(context.Background(), events.APIGatewayProxyRequest{HTTPMethod: "POST", Path: "/", IsBase64Encoded: true, Body: b})
		require.NoError(t, err)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		require.Equal(t, problem.ContentType, resp.Headers["Content-Type"])
	}

	resp, err = v1(context.Background(), events.APIGatewayProxyRequest{HTTPMethod: "BAD METHOD", Path: "/"})
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, problem.ContentType, resp.Headers["Content-Type"])
	require.Equal(t, problem.TypePrefix+"invalid-request", decode(t, resp.Body)["type"])
}

func TestV2(t *testing.T) {
	t.Parallel()
	v2 := apigateway.V2(echo(t))
	resp, err := v2(context.Background(), events.APIGatewayV2HTTPRequest{RawPath: "/orders/o1/cancel", RawQueryString: "tag=a&tag=b",
		Cookies:        []string{"other=x", "session=s2"},
		PathParameters: map[string]string{"id": "o1"},
		Headers:        map[string]string{"accept": "text/plain", "host": "api.example"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "PUT", SourceIP: "192.0.2.2"}},
		Body:           `{"a":1}`})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.Equal(t, map[string]any{"method": "PUT", "path": "/orders/o1/cancel", "id": "o1", "tags": []any{"a", "b"},
		"accept": []any{"text/plain"}, "session": "s2", "body": `{"a":1}`, "remote": "192.0.2.2:0", "host": "api.example"},
		decode(t, resp.Body))
	require.Equal(t, []string{"a=1", "b=2"}, resp.Cookies)
	require.NotContains(t, resp.Headers, "Set-Cookie")
	require.Equal(t, "Accept, Origin", resp.Headers["Vary"])

	resp, err = v2(context.Background(), events.APIGatewayV2HTTPRequest{RawQueryString: "binary",
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET"}}})
	require.NoError(t, err)
	require.True(t, resp.IsBase64Encoded)
}
