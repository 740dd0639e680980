// Command migrate is the deploy-time custom resource (the onEvent handler of a CDK
// Provider): on Create and Update it applies pgstore's migrations and creates the
// orders table; on Delete it keeps the data.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/storagefirst/storagefirst-go/examples/pizza/lambda/lambdaenv"
)

// event is the part of a custom resource event the handler reads.
type event struct {
	RequestType        string `json:"RequestType"`
	PhysicalResourceID string `json:"PhysicalResourceId"`
}

func handle(ctx context.Context, e event) (map[string]any, error) {
	id := e.PhysicalResourceID
	if id == "" {
		id = "pizza-migrations"
	}
	if e.RequestType == "Delete" {
		return map[string]any{"PhysicalResourceId": id}, nil
	}
	if err := lambdaenv.Migrate(ctx); err != nil {
		return nil, err
	}
	log.Printf("migrations applied (%s)", e.RequestType)
	return map[string]any{"PhysicalResourceId": id}, nil
}

func main() { lambda.Start(handle) }
