package eventbridge_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awseb "github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/storagefirst/storagefirst-go/awsfake"
	"github.com/storagefirst/storagefirst-go/ingest/eventbridge"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

func ExampleSink() {
	fake := awsfake.New() // in production: awseb.NewFromConfig(cfg) against AWS
	defer fake.Close()
	client := awseb.NewFromConfig(fake.Config(), func(o *awseb.Options) { o.BaseEndpoint = aws.String(fake.URL()) })

	sink, err := eventbridge.NewSink(client, eventbridge.SinkConfig{EventBusName: "pizza", Source: "com.lee.pizza"})
	if err != nil {
		panic(err)
	}
	defer sink.Close()
	env, _ := storagefirst.NewEnvelope("CreateOrder", []byte(`{"username":"lee"}`))
	fmt.Println(sink.Put(context.Background(), env)) // nil only once EventBridge accepted it
	ev := fake.Events()[0]
	fmt.Println(ev.EventBusName, ev.Source, ev.DetailType)
	// Output:
	// <nil>
	// pizza com.lee.pizza CreateOrder
}

func ExampleNewTarget() {
	handler := storagefirst.HandlerFunc(func(ctx context.Context, env storagefirst.Envelope) error {
		fmt.Println(env.ID, env.Type, string(env.Payload))
		return nil
	})
	target := eventbridge.NewTarget(handler) // in main: lambda.Start(target)
	var ev events.EventBridgeEvent
	_ = json.Unmarshal([]byte(`{"id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"CreateOrder",
		"source":"com.lee.pizza","time":"2026-11-30T12:00:00Z","detail":{"username":"lee"}}`), &ev)
	fmt.Println(target(context.Background(), ev))
	// Output:
	// 6a7e8feb-b491-4cf7-a9f1-bf3703467718 CreateOrder {"username":"lee"}
	// <nil>
}
