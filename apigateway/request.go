package apigateway

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// ErrInvalidEvent is returned by RequestV1 and RequestV2 for an event that makes
// no HTTP request (e.g. a method that is not a token).
var ErrInvalidEvent = errors.New("apigateway: the event is not a valid HTTP request")

// body is the request body of an event: the string itself, or a base64
// decoder over it (decoded as read; invalid base64 fails the read).
func body(s string, base64Encoded bool) (io.ReadCloser, int64) {
	if s == "" {
		return http.NoBody, 0
	}
	if base64Encoded {
		return io.NopCloser(base64.NewDecoder(base64.StdEncoding, strings.NewReader(s))), -1
	}
	return io.NopCloser(strings.NewReader(s)), int64(len(s))
}

func newRequest(ctx context.Context, method, path, rawQuery string, b io.ReadCloser, n int64) (*http.Request, error) {
	if path == "" {
		path = "/"
	}
	u := &url.URL{Path: path, RawQuery: rawQuery}
	if p, err := url.PathUnescape(path); err == nil && p != path {
		u.Path, u.RawPath = p, path
	}
	if method == "" {
		method = http.MethodGet
	}
	// The request is made for "/" and then given u: a round trip through
	// u.String() would read a path starting with "//" as a host.
	r, err := http.NewRequestWithContext(ctx, method, "/", nil)
	if err != nil {
		return nil, errors.Join(ErrInvalidEvent, err)
	}
	r.URL = u
	r.Body, r.ContentLength = b, n
	r.RequestURI = u.RequestURI()
	return r, nil
}

// RequestV1 is the *http.Request of a REST API proxy event.
func RequestV1(ctx context.Context, e events.APIGatewayProxyRequest) (*http.Request, error) {
	q := url.Values{}
	for k, v := range e.QueryStringParameters {
		q.Set(k, v)
	}
	for k, vs := range e.MultiValueQueryStringParameters {
		q[k] = vs
	}
	b, n := body(e.Body, e.IsBase64Encoded)
	r, err := newRequest(ctx, e.HTTPMethod, e.Path, q.Encode(), b, n)
	if err != nil {
		return nil, err
	}
	for k, v := range e.Headers {
		r.Header.Set(k, v)
	}
	for k, vs := range e.MultiValueHeaders {
		r.Header.Del(k)
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	finish(r, e.PathParameters, e.RequestContext.Identity.SourceIP)
	return r, nil
}

// RequestV2 is the *http.Request of an HTTP API (payload format 2.0) or
// function URL event. On a named stage (not $default) the path API Gateway
// sends begins with "/{stage}"; it is removed, so the handler sees the same
// paths on every stage, as RequestV1's handler does.
func RequestV2(ctx context.Context, e events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	b, n := body(e.Body, e.IsBase64Encoded)
	path := e.RawPath
	if path == "" {
		path = e.RequestContext.HTTP.Path
	}
	path = stripStage(path, e.RequestContext.Stage)
	r, err := newRequest(ctx, e.RequestContext.HTTP.Method, path, e.RawQueryString, b, n)
	if err != nil {
		return nil, err
	}
	for k, v := range e.Headers {
		r.Header.Set(k, v)
	}
	if len(e.Cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(e.Cookies, "; "))
	}
	finish(r, e.PathParameters, e.RequestContext.HTTP.SourceIP)
	return r, nil
}

// stripStage removes the leading "/"+stage of an HTTP API path on a named
// stage; $default (and a function URL, which has none) add no prefix.
func stripStage(path, stage string) string {
	if stage == "" || stage == "$default" {
		return path
	}
	prefix := "/" + stage
	switch {
	case path == prefix:
		return "/"
	case strings.HasPrefix(path, prefix+"/"):
		return path[len(prefix):]
	}
	return path
}

func finish(r *http.Request, params map[string]string, sourceIP string) {
	r.Host = r.Header.Get("Host")
	r.URL.Host = r.Host
	for k, v := range params {
		r.SetPathValue(k, v)
	}
	if sourceIP != "" {
		r.RemoteAddr = sourceIP + ":0"
	}
	if r.Header.Get("X-Forwarded-Proto") == "https" {
		r.URL.Scheme = "https"
	}
}
