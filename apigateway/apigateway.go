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

// V1 serves h as a Lambda handler behind an API Gateway REST API proxy
// integration (payload format 1.0): lambda.Start(apigateway.V1(h)). It never
// returns an error: every outcome is an HTTP answer.
func V1(h http.Handler) func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	return func(ctx context.Context, e events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		w := NewResponseWriter()
		if r, err := RequestV1(ctx, e); err != nil {
			w = badEvent()
		} else {
			h.ServeHTTP(w, r)
		}
		hd := w.Result()
		body, b64 := w.Body()
		return events.APIGatewayProxyResponse{StatusCode: w.Status(), Headers: first(hd), MultiValueHeaders: hd,
			Body: body, IsBase64Encoded: b64}, nil
	}
}

// V2 serves h as a Lambda handler behind an API Gateway HTTP API (payload
// format 2.0) or a Lambda function URL: lambda.Start(apigateway.V2(h)). It never
// returns an error: every outcome is an HTTP answer.
func V2(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return func(ctx context.Context, e events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		w := NewResponseWriter()
		if r, err := RequestV2(ctx, e); err != nil {
			w = badEvent()
		} else {
			h.ServeHTTP(w, r)
		}
		hd := w.Result()
		body, b64 := w.Body()
		return events.APIGatewayV2HTTPResponse{StatusCode: w.Status(), Headers: joined(hd),
			Cookies: hd["Set-Cookie"], Body: body, IsBase64Encoded: b64}, nil
	}
}
