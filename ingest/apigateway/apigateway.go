package apigateway

import (
	"context"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	gateway "github.com/storagefirst/storagefirst-go/apigateway"
	"github.com/storagefirst/storagefirst-go/ingest"
)

// Door is the part of an ingest.FrontDoor the handlers use: its ServeHTTP.
type Door interface {
	ServeHTTP(w http.ResponseWriter, r *http.Request)
}

var _ Door = (*ingest.FrontDoor[struct{}])(nil)

// V1 is the front door as a Lambda handler behind an API Gateway REST API
// (proxy integration, payload format 1.0): lambda.Start(apigateway.V1(door)).
// It is the module's apigateway.V1 serving the door's ServeHTTP.
func V1(d Door) func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	return gateway.V1(d)
}

// V2 is the front door as a Lambda handler behind an API Gateway HTTP API
// (payload format 2.0) or a Lambda function URL: lambda.Start(apigateway.V2(door)).
// It is the module's apigateway.V2 serving the door's ServeHTTP.
func V2(d Door) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return gateway.V2(d)
}
