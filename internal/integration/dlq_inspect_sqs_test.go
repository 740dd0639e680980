package integration_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/dlq"
	dlqsqs "github.com/storagefirst/storagefirst-go/dlq/sqs"
	"github.com/storagefirst/storagefirst-go/ingest/sqs"
	"github.com/storagefirst/storagefirst-go/internal/integration/goawstest"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// deadLetterQueue creates a DLQ with the given visibility timeout holding n dead
// letters written by the SQS destination.
func deadLetterQueue(t *testing.T, ctx context.Context, c *awssqs.Client, visibility string, n int) string {
	t.Helper()
	url := goawstest.NewQueue(t, c, "", map[string]string{"VisibilityTimeout": visibility})
	dest := dlqsqs.Destination{Client: c, QueueURL: url}
	for i := range n {
		env, err := storagefirst.NewEnvelope("CreateOrder", fmt.Appendf(nil, `{"username":"user-%d"}`, i))
		require.NoError(t, err)
		require.NoError(t, dest.SendDeadLetter(ctx, storagefirst.DeadLetter{Envelope: env,
			Failures: []storagefirst.Failure{{Attempt: 1, Class: "permanent", Error: "bad order", At: time.Now()}}}))
	}
	return url
}

func counts(t *testing.T, ctx context.Context, c *awssqs.Client, url string) (visible, hidden int) {
	t.Helper()
	out, err := c.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	require.NoError(t, err)
	return atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)]),
		atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
}

// TestListThenReplaySQSReplaysEverything: listing, and a dry-run replay, leave
// the messages visible, so the replay right after replays every one.
func TestListThenReplaySQSReplaysEverything(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := goawstest.Client(t)
	const n = 12
	dlqURL := deadLetterQueue(t, ctx, client, "30", n)
	target := goawstest.NewQueue(t, client, "", nil)
	sink, err := sqs.NewSink(client, sqs.SinkConfig{QueueURL: target})
	require.NoError(t, err)
	defer sink.Close()
	src := func() *dlqsqs.Source {
		return &dlqsqs.Source{Client: client, QueueURL: dlqURL, WaitTime: -1}
	}

	listed, err := dlq.List(ctx, src(), dlq.Filter{}, 0)
	require.NoError(t, err)
	require.Len(t, listed, n)
	visible, hidden := counts(t, ctx, client, dlqURL)
	require.Equal(t, [2]int{n, 0}, [2]int{visible, hidden}, "listing hides nothing")

	few, err := dlq.List(ctx, src(), dlq.Filter{}, 3)
	require.NoError(t, err)
	require.Len(t, few, 3)
	_, hidden = counts(t, ctx, client, dlqURL)
	require.Zero(t, hidden, "a listing stopped early hides nothing either")

	sum, err := dlq.Replay(ctx, src(), sink, dlq.ReplayOptions{DryRun: true})
	require.NoError(t, err)
	require.Equal(t, n, sum.Replayed)
	_, hidden = counts(t, ctx, client, dlqURL)
	require.Zero(t, hidden, "a dry run hides nothing")

	sum, err = dlq.Replay(ctx, src(), sink, dlq.ReplayOptions{})
	require.NoError(t, err)
	require.Equal(t, dlq.Summary{Replayed: n}, sum)
	visible, hidden = counts(t, ctx, client, dlqURL)
	require.Equal(t, [2]int{0, 0}, [2]int{visible, hidden})
	visible, _ = counts(t, ctx, client, target)
	require.Equal(t, n, visible)
}

// TestSlowReplaySQSKeepsItsMessages: a replay slower than the visibility timeout
// keeps the messages it read hidden and deletes each with a valid receipt
// handle, so every message is replayed exactly once.
func TestSlowReplaySQSKeepsItsMessages(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := goawstest.Client(t)
	const n = 4
	dlqURL := deadLetterQueue(t, ctx, client, "1", n)
	target := goawstest.NewQueue(t, client, "", nil)
	sink, err := sqs.NewSink(client, sqs.SinkConfig{QueueURL: target})
	require.NoError(t, err)
	defer sink.Close()

	// Four entries at 2 per second take 1.5 s: longer than the 1 s visibility.
	sum, err := dlq.Replay(ctx, &dlqsqs.Source{Client: client, QueueURL: dlqURL, VisibilityTimeout: time.Second, WaitTime: -1},
		sink, dlq.ReplayOptions{RatePerSecond: 2})
	require.NoError(t, err)
	require.Equal(t, dlq.Summary{Replayed: n}, sum)
	visible, hidden := counts(t, ctx, client, dlqURL)
	require.Equal(t, [2]int{0, 0}, [2]int{visible, hidden})
	visible, _ = counts(t, ctx, client, target)
	require.Equal(t, n, visible, "each replayed once")
}
