package ingest

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// APIGatewayV1 is the front door as a Lambda handler behind an API Gateway REST API
// (proxy integration, payload format 1.0).
func (f *FrontDoor[T]) APIGatewayV1(ctx context.Context, e events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
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
	resp := f.acceptLambda(ctx, e.HTTPMethod, e.Path, header, e.Body, e.IsBase64Encoded)
	return events.APIGatewayProxyResponse{StatusCode: resp.Status, Headers: flatten(resp.Header),
		MultiValueHeaders: resp.Header, Body: string(resp.Body)}, nil
}

// APIGatewayV2 is the front door as a Lambda handler behind an API Gateway HTTP API
// (payload format 2.0) or a Lambda function URL.
func (f *FrontDoor[T]) APIGatewayV2(ctx context.Context, e events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
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
	resp := f.acceptLambda(ctx, e.RequestContext.HTTP.Method, e.RawPath, header, e.Body, e.IsBase64Encoded)
	return events.APIGatewayV2HTTPResponse{StatusCode: resp.Status, Headers: flatten(resp.Header), Body: string(resp.Body)}, nil
}

func (f *FrontDoor[T]) acceptLambda(ctx context.Context, method, path string, header func(string) string, body string, b64 bool) Response {
	limit := f.cfg.MaxBodyBytes
	req := Request{Method: method, Path: path, Header: header}
	switch {
	case b64 && base64.StdEncoding.DecodedLen(len(body)) > limit+3:
		req.BodyTooLarge = true
	case b64:
		raw, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			return problemResponse(Problem{Type: ProblemInvalidBody, Status: http.StatusBadRequest,
				Detail: "the body is not valid base64"}, "", f.cfg.CorrelationHeader)
		}
		req.Body = raw
	case len(body) > limit:
		req.BodyTooLarge = true
	default:
		req.Body = []byte(body)
	}
	return f.Accept(ctx, req)
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
