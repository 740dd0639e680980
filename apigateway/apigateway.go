package apigateway

import (
	"context"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/storagefirst/storagefirst-go/problem"
)

// badEvent is the answer to an event that makes no HTTP request.
func badEvent() *ResponseWriter {
	w := NewResponseWriter()
	problem.Write(w, problem.Details{Type: problem.TypePrefix + "invalid-request", Status: http.StatusBadRequest,
		Detail: "the request's method or path is not valid"})
	return w
}

// serve runs h for the request (a 400 for an event that made none) and
// returns the answer: status and headers in w, the body, and whether it is
// base64. A body Lambda could not return (see MaxResponseBytes) is a 502; the
// answer to HEAD has no body.
func serve(h http.Handler, r *http.Request, err error) (*ResponseWriter, http.Header, string, bool) {
	w := NewResponseWriter()
	if err != nil {
		w = badEvent()
	} else {
		h.ServeHTTP(w, r)
	}
	body, b64 := w.Body()
	if w.over {
		w = tooLarge(r, MaxResponseBytes+1)
		body, b64 = w.Body()
	} else if size := encodedSize(w.Result(), body); size > LambdaResponseLimit {
		w = tooLarge(r, size)
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
		w, hd, body, b64 := serve(h, r, err)
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
		w, hd, body, b64 := serve(h, r, err)
		return events.APIGatewayV2HTTPResponse{StatusCode: w.Status(), Headers: joined(hd),
			Cookies: hd["Set-Cookie"], Body: body, IsBase64Encoded: b64}, nil
	}
}
