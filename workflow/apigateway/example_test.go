package apigateway_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/storagefirst/storagefirst-go/workflow"
	"github.com/storagefirst/storagefirst-go/workflow/apigateway"
)

func ExampleV1() {
	h, _ := workflow.NewHTTPHandler(workflow.HTTPConfig{
		Starter: workflow.StarterFunc(func(context.Context, json.RawMessage) (workflow.Result, error) {
			return workflow.Result{ExecutionID: "exec-1", Status: workflow.StatusSucceeded, Output: json.RawMessage(`{"status":"cancelled"}`)}, nil
		}),
	})
	// In main: lambda.Start(apigateway.V1(h))
	resp, _ := apigateway.V1(h)(context.Background(), events.APIGatewayProxyRequest{HTTPMethod: "PUT", Path: "/orders",
		Headers: map[string]string{"Content-Type": "application/json"}, Body: `{"username":"lee"}`})
	fmt.Println(resp.StatusCode, resp.Body)
	// Output: 200 {"status":"cancelled"}
}
