// Command list-orders serves GET /orders and GET /orders/{id} behind an API
// Gateway proxy integration.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/storagefirst/storagefirst-go/examples/pizza/lambda/lambdaenv"
)

func main() {
	s, err := lambdaenv.Shop(context.Background()) // once per container
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(lambdaenv.ProxyHandler(s.Handler()))
}
