// Command cancel-order is the cancel workflow's Step Functions task: the same Go
// function as the local engine's, its errors named for the state machine's Retry
// and Catch.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/storagefirst/storagefirst-go/examples/pizza/lambda/lambdaenv"
	"github.com/storagefirst/storagefirst-go/workflow/awslambda"
)

func main() {
	cancel, err := lambdaenv.Cancels(context.Background()) // once per container
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(awslambda.Task(cancel))
}
