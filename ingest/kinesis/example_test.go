package kinesis_test

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/storagefirst/storagefirst-go/awsfake"
	"github.com/storagefirst/storagefirst-go/ingest/kinesis"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

func ExampleSink() {
	fake := awsfake.New()
	defer fake.Close()
	client := awskinesis.NewFromConfig(fake.Config(), func(o *awskinesis.Options) { o.BaseEndpoint = aws.String(fake.URL()) })
	sink, err := kinesis.NewSink(client, kinesis.SinkConfig{StreamName: "orders"})
	if err != nil {
		panic(err)
	}
	defer sink.Close()
	env, _ := storagefirst.NewEnvelope("CreateOrder", []byte(`{"username":"lee"}`))
	env.IdempotencyKey = "customer-lee" // records of one key stay in order on one shard
	fmt.Println(sink.Put(context.Background(), env))
	fmt.Println(fake.Records()[0].PartitionKey)
	// Output:
	// <nil>
	// customer-lee
}
