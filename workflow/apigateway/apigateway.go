package apigateway

import (
	"context"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	gateway "github.com/storagefirst/storagefirst-go/apigateway"
	"github.com/storagefirst/storagefirst-go/workflow"
)

// Handler is the part of a workflow.HTTPHandler V1 uses: its ServeHTTP.
type Handler interface {
	ServeHTTP(w http.ResponseWriter, r *http.Request)
}

var _ Handler = (*workflow.HTTPHandler)(nil)

// V1 runs the workflow as a Lambda handler behind an API Gateway REST API proxy
// integration: lambda.Start(apigateway.V1(h)). The *http.Request given to
// HTTPConfig.Input is built from the event (method, path, headers, query, path
// parameters, the body base64-decoded as it is read); it is the module's
// apigateway.V1 serving h.
func V1(h Handler) func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	return gateway.V1(h)
}

// V2 is V1 behind an API Gateway HTTP API (payload format 2.0) or a Lambda
// function URL.
func V2(h Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return gateway.V2(h)
}
