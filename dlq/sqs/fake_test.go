package sqs_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/storagefirst/storagefirst-go/awsfake"
)

// newFake starts an awsfake server, closed when t ends, and an SQS client of it.
func newFake(t *testing.T) (*awsfake.Server, *awssqs.Client) {
	t.Helper()
	fake := awsfake.New()
	t.Cleanup(fake.Close)
	return fake, awssqs.NewFromConfig(fake.Config(), func(o *awssqs.Options) { o.BaseEndpoint = aws.String(fake.URL()) })
}
