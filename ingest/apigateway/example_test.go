package apigateway_test

import (
	"context"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/storagefirst/storagefirst-go/ingest"
	"github.com/storagefirst/storagefirst-go/ingest/apigateway"
	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
)

type createOrder struct {
	Username string `json:"username"`
}

func ExampleV1() {
	door, _ := ingest.NewFrontDoor[createOrder](ingest.FrontDoorConfig{Sink: sftest.NewMemoryQueue(nil), Type: "pizza.order.create"})
	// In main: lambda.Start(apigateway.V1(door))
	resp, _ := apigateway.V1(door)(context.Background(), events.APIGatewayProxyRequest{
		HTTPMethod: "POST", Path: "/orders",
		Headers: map[string]string{"Content-Type": "application/json"},
		Body:    `{"username":"lee","admin":true}`,
	})
	fmt.Println(resp.StatusCode, resp.Headers["Content-Type"])
	// Output: 400 application/problem+json
}
