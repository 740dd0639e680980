package awsfake_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awseb "github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/awsfake"
)

func apiCode(t *testing.T, err error) string {
	t.Helper()
	var ae smithy.APIError
	require.True(t, errors.As(err, &ae), "an API error: %v", err)
	return ae.ErrorCode()
}

func TestPutEventsSizeLimits(t *testing.T) {
	t.Parallel()
	fake := awsfake.New()
	defer fake.Close()
	client := awseb.NewFromConfig(fake.Config(), func(o *awseb.Options) { o.BaseEndpoint = aws.String(fake.URL()) })
	entry := func(size int) ebtypes.PutEventsRequestEntry {
		// Source 1 + DetailType 1 + Time 14 + Detail in UTF-8 (é is two bytes).
		n := size - 16 - 8
		return ebtypes.PutEventsRequestEntry{Source: aws.String("s"), DetailType: aws.String("t"), Time: aws.Time(time.Unix(1, 0)),
			Detail: aws.String(`{"a":"` + strings.Repeat("é", n/2) + strings.Repeat("a", n%2) + `"}`)}
	}
	ctx := context.Background()
	// A request of exactly the limit passes; one byte more fails whole.
	fake.SetLimits(awsfake.Limits{PutEventsEntryBytes: 1000, PutEventsRequestBytes: 2000})
	_, err := client.PutEvents(ctx, &awseb.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{entry(1000), entry(1000)}})
	require.NoError(t, err)
	_, err = client.PutEvents(ctx, &awseb.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{entry(1000), entry(1000), entry(30)}})
	require.Equal(t, "ValidationException", apiCode(t, err))
	require.ErrorContains(t, err, "Total size of the entries in the request is over the limit.")
	_, err = client.PutEvents(ctx, &awseb.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{entry(1001)}})
	require.Equal(t, "ValidationException", apiCode(t, err), "one entry over the entry limit")
	// Resources count.
	e := entry(1000)
	e.Resources = []string{"x"}
	_, err = client.PutEvents(ctx, &awseb.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{e}})
	require.Error(t, err)
	require.Len(t, fake.Events(), 2)
}

func TestSendMessageBatchLimits(t *testing.T) {
	t.Parallel()
	fake := awsfake.New()
	defer fake.Close()
	client := awssqs.NewFromConfig(fake.Config(), func(o *awssqs.Options) { o.BaseEndpoint = aws.String(fake.URL()) })
	ctx := context.Background()
	q := "https://sqs.us-east-1.amazonaws.com/1/q"
	big := strings.Repeat("x", 600<<10)
	_, err := client.SendMessageBatch(ctx, &awssqs.SendMessageBatchInput{QueueUrl: aws.String(q), Entries: []sqstypes.SendMessageBatchRequestEntry{
		{Id: aws.String("a"), MessageBody: aws.String(big)}, {Id: aws.String("b"), MessageBody: aws.String(big)}}})
	require.Equal(t, "AWS.SimpleQueueService.BatchRequestTooLong", apiCode(t, err))
	require.ErrorContains(t, err, "Batch requests cannot be longer than 1048576 bytes. You have sent 1228800 bytes.")

	attrs := map[string]sqstypes.MessageAttributeValue{}
	for i := range 11 {
		attrs[fmt.Sprint("a", i)] = sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String("v")}
	}
	fake.SetLimits(awsfake.Limits{SQSMessageBytes: 100, SQSBatchBytes: 1000, SQSMaxAttributes: 10})
	out, err := client.SendMessageBatch(ctx, &awssqs.SendMessageBatchInput{QueueUrl: aws.String(q), Entries: []sqstypes.SendMessageBatchRequestEntry{
		{Id: aws.String("many"), MessageBody: aws.String("{}"), MessageAttributes: attrs},
		{Id: aws.String("long"), MessageBody: aws.String(strings.Repeat("y", 90)),
			MessageAttributes: map[string]sqstypes.MessageAttributeValue{"k": {DataType: aws.String("String"), StringValue: aws.String("1234")}}},
		{Id: aws.String("ok"), MessageBody: aws.String("{}")}}})
	require.NoError(t, err)
	require.Len(t, out.Successful, 1)
	require.Equal(t, "ok", aws.ToString(out.Successful[0].Id))
	require.Len(t, out.Failed, 2)
	for _, f := range out.Failed {
		require.True(t, f.SenderFault)
		require.Equal(t, "InvalidParameterValue", aws.ToString(f.Code))
	}
	require.Contains(t, aws.ToString(out.Failed[0].Message), "Number of message attributes [11] exceeds the allowed maximum [10].")
	require.Contains(t, aws.ToString(out.Failed[1].Message), "Message must be shorter than 100 bytes")
}

func TestPutRecordsLimits(t *testing.T) {
	t.Parallel()
	fake := awsfake.New()
	defer fake.Close()
	client := awskinesis.NewFromConfig(fake.Config(), func(o *awskinesis.Options) { o.BaseEndpoint = aws.String(fake.URL()) })
	ctx := context.Background()
	put := func(recs ...kintypes.PutRecordsRequestEntry) error {
		_, err := client.PutRecords(ctx, &awskinesis.PutRecordsInput{StreamName: aws.String("s"), Records: recs})
		return err
	}
	rec := func(n int, key string) kintypes.PutRecordsRequestEntry {
		return kintypes.PutRecordsRequestEntry{Data: make([]byte, n), PartitionKey: aws.String(key)}
	}
	require.NoError(t, put(rec(1<<20-1, "k")), "data plus key of exactly 1 MiB")
	err := put(rec(1<<20-1, "kk"))
	require.Equal(t, "InvalidArgumentException", apiCode(t, err), "the partition key counts")
	err = put(rec(1<<20+1, "k"))
	require.Equal(t, "ValidationException", apiCode(t, err))
	require.ErrorContains(t, err, "Member must have length less than or equal to 1048576")
	six := make([]kintypes.PutRecordsRequestEntry, 6)
	for i := range six {
		six[i] = rec(900<<10, "k")
	}
	err = put(six...)
	require.Equal(t, "InvalidArgumentException", apiCode(t, err))
	require.ErrorContains(t, err, "Records size exceeds 5 MB limit")
	require.Equal(t, "ValidationException", apiCode(t, put(rec(1, strings.Repeat("p", 257)))))
	require.Len(t, fake.Records(), 1)
}
