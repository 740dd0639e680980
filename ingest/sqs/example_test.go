package sqs_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/storagefirst/storagefirst-go/awsfake"
	"github.com/storagefirst/storagefirst-go/ingest/sqs"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

func ExampleSink() {
	fake := awsfake.New()
	defer fake.Close()
	client := awssqs.NewFromConfig(fake.Config(), func(o *awssqs.Options) { o.BaseEndpoint = aws.String(fake.URL()) })
	sink, err := sqs.NewSink(client, sqs.SinkConfig{QueueURL: "https://sqs.us-east-1.amazonaws.com/111122223333/orders.fifo"})
	if err != nil {
		panic(err)
	}
	defer sink.Close()
	env, _ := storagefirst.NewEnvelope("CreateOrder", []byte(`{"username":"lee"}`))
	env.IdempotencyKey = "order-1"
	fmt.Println(sink.Put(context.Background(), env))
	m := fake.Messages()[0]
	fmt.Println(m.GroupID, m.DedupID == env.ID, m.Attributes[sqs.AttributeType])
	// Output:
	// <nil>
	// order-1 true CreateOrder
}

func ExampleNewBatchHandler() {
	h := sqs.NewBatchHandler(storagefirst.HandlerFunc(func(ctx context.Context, env storagefirst.Envelope) error {
		if env.ID == "m2" {
			return errors.New("transient")
		}
		return nil
	}), sqs.BatchConfig{}) // in main: lambda.Start(h)
	resp, err := h(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "m1", Body: `{"username":"lee"}`}, {MessageId: "m2", Body: `{"username":"bob"}`}}})
	fmt.Println(resp.BatchItemFailures, err)
	// Output: [{m2}] <nil>
}
