// Command create-order is the EventBridge rule's Lambda target: it creates the
// order of each CreateOrder event exactly once (lambdaenv.CreateOrderEnvelope
// reads the event's detail). Lambda's asynchronous invocation retries failures
// and then sends the event to the on-failure destination (an SQS queue that dlq
// decodes and replays).
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/storagefirst/storagefirst-go/examples/pizza/lambda/lambdaenv"
)

func main() {
	h, err := lambdaenv.Creates(context.Background()) // once per container
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(lambdaenv.CreateOrderTarget(h))
}
