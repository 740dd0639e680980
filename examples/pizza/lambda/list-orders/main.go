// Command list-orders serves GET /orders and GET /orders/{id} behind an API
// Gateway proxy integration. It reads the orders table and nothing else (as the
// reader role may), and links no more than that.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/storagefirst/storagefirst-go/examples/pizza/lambda/lambdaenv"
)

func main() {
	h, err := lambdaenv.Reads(context.Background()) // once per container
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(lambdaenv.ProxyHandler(h))
}
