package apigateway

import (
	"context"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/storagefirst/storagefirst-go/ingest"
)

// Door is the part of an ingest.FrontDoor the handlers use.
type Door interface {
	AcceptEncoded(ctx context.Context, r ingest.Request, body string, base64Encoded bool) ingest.Response
}

var _ Door = (*ingest.FrontDoor[struct{}])(nil)

// V1 is the front door as a Lambda handler behind an API Gateway REST API
// (proxy integration, payload format 1.0): lambda.Start(apigateway.V1(door)).
func V1(d Door) func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	return func(ctx context.Context, e events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		header := func(name string) string {
			for k, v := range e.Headers {
				if strings.EqualFold(k, name) {
					return v
				}
			}
			for k, vs := range e.MultiValueHeaders {
				if strings.EqualFold(k, name) && len(vs) > 0 {
					return vs[0]
				}
			}
			return ""
		}
		resp := d.AcceptEncoded(ctx, ingest.Request{Method: e.HTTPMethod, Path: e.Path, Header: header}, e.Body, e.IsBase64Encoded)
		return events.APIGatewayProxyResponse{StatusCode: resp.Status, Headers: flatten(resp.Header),
			MultiValueHeaders: resp.Header, Body: string(resp.Body)}, nil
	}
}

// V2 is the front door as a Lambda handler behind an API Gateway HTTP API
// (payload format 2.0) or a Lambda function URL: lambda.Start(apigateway.V2(door)).
func V2(d Door) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return func(ctx context.Context, e events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		header := func(name string) string {
			if v, ok := e.Headers[strings.ToLower(name)]; ok {
				return v
			}
			for k, v := range e.Headers {
				if strings.EqualFold(k, name) {
					return v
				}
			}
			return ""
		}
		resp := d.AcceptEncoded(ctx, ingest.Request{Method: e.RequestContext.HTTP.Method, Path: e.RawPath, Header: header}, e.Body, e.IsBase64Encoded)
		return events.APIGatewayV2HTTPResponse{StatusCode: resp.Status, Headers: flatten(resp.Header), Body: string(resp.Body)}, nil
	}
}

func flatten(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		if len(vs) > 0 {
			out[k] = vs[0]
		}
	}
	return out
}
