package apigateway

import (
	"context"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/storagefirst/storagefirst-go/workflow"
)

// Handler is the part of a workflow.HTTPHandler V1 uses.
type Handler interface {
	ServeEncoded(r *http.Request, body string, base64Encoded bool) workflow.Response
}

var _ Handler = (*workflow.HTTPHandler)(nil)

// V1 runs the workflow as a Lambda handler behind an API Gateway REST API proxy
// integration: lambda.Start(apigateway.V1(h)). The *http.Request given to
// HTTPConfig.Input is built from the event (method, path, headers, query, path
// parameters).
func V1(h Handler) func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	return func(ctx context.Context, e events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		r, err := http.NewRequestWithContext(ctx, e.HTTPMethod, e.Path, nil)
		if err != nil {
			r, _ = http.NewRequestWithContext(ctx, http.MethodPost, "/", nil)
		}
		for k, v := range e.Headers {
			r.Header.Set(k, v)
		}
		q := r.URL.Query()
		for k, v := range e.QueryStringParameters {
			q.Set(k, v)
		}
		r.URL.RawQuery = q.Encode()
		for k, v := range e.PathParameters {
			r.SetPathValue(k, v)
		}
		a := h.ServeEncoded(r, e.Body, e.IsBase64Encoded)
		headers := map[string]string{}
		for k, vs := range a.Header {
			headers[k] = vs[0]
		}
		return events.APIGatewayProxyResponse{StatusCode: a.Status, Headers: headers, Body: string(a.Body)}, nil
	}
}
