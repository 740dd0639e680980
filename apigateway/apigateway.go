package apigateway

import (
	"context"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/storagefirst/storagefirst-go/problem"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// badEvent is the answer to an event that makes no HTTP request, with the
// correlation ID of its headers (client), or a new one.
func badEvent(client string) *ResponseWriter {
	corr := storagefirst.CorrelationID(client)
	w := NewResponseWriter()
	w.Header().Set(HeaderCorrelationID, corr)
	problem.Write(w, problem.Details{Type: problem.TypePrefix + "invalid-request", Status: http.StatusBadRequest,
		Detail: "the request's method or path is not valid", Instance: corr})
	return w
}

// lookup is the value of the header name in an event's header map, whose
// names may have any case.
func lookup(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// lookupMulti is lookup for V1's multiValueHeaders (the first value).
func lookupMulti(h map[string][]string, name string) string {
	for k, vs := range h {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}

// serve runs h for the request (a 400 for an event that made none) and
// returns the answer: status and headers in w, the body, and whether it is
// base64. A body Lambda could not return (see MaxResponseBytes) is a 502; the
// answer to HEAD has no body.
func serve(h http.Handler, r *http.Request, err error, corr func() string) (*ResponseWriter, http.Header, string, bool) {
	w := NewResponseWriter()
	if err != nil {
		w = badEvent(corr())
	} else {
		h.ServeHTTP(w, r)
	}
	body, b64 := w.Body()
	if w.over {
		w = tooLarge(r, w.Result(), MaxResponseBytes+1)
		body, b64 = w.Body()
	} else if size := encodedSize(w.Result(), body); size > LambdaResponseLimit {
		w = tooLarge(r, w.Result(), size)
		body, b64 = w.Body()
	}
	if r != nil && r.Method == http.MethodHead {
		body, b64 = "", false
	}
	return w, w.Result(), body, b64
}

// V1 serves h as a Lambda handler behind an API Gateway REST API proxy
// integration (payload format 1.0): lambda.Start(apigateway.V1(h)). It never
// returns an error: every outcome is an HTTP answer.
func V1(h http.Handler) func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	return func(ctx context.Context, e events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		r, err := RequestV1(ctx, e)
		w, hd, body, b64 := serve(h, r, err, func() string {
			if c := lookupMulti(e.MultiValueHeaders, HeaderCorrelationID); c != "" {
				return c
			}
			return lookup(e.Headers, HeaderCorrelationID)
		})
		return events.APIGatewayProxyResponse{StatusCode: w.Status(), Headers: first(hd), MultiValueHeaders: hd,
			Body: body, IsBase64Encoded: b64}, nil
	}
}

// V2 serves h as a Lambda handler behind an API Gateway HTTP API (payload
// format 2.0) or a Lambda function URL: lambda.Start(apigateway.V2(h)). It never
// returns an error: every outcome is an HTTP answer.
func V2(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return func(ctx context.Context, e events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		r, err := RequestV2(ctx, e)
		w, hd, body, b64 := serve(h, r, err, func() string { return lookup(e.Headers, HeaderCorrelationID) })
		return events.APIGatewayV2HTTPResponse{StatusCode: w.Status(), Headers: joined(hd),
			Cookies: hd["Set-Cookie"], Body: body, IsBase64Encoded: b64}, nil
	}
}
