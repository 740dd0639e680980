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

// replayAll replays src until it is empty, within a deadline, and returns the
// total. (goaws, under the race detector, now and then cuts a ReceiveMessage
// answer short; the SDK's retry then finds the messages the lost answer hid,
// which come back after the queue's visibility timeout. The assertions below
// tolerate that and nothing else.)
func replayAll(t *testing.T, ctx context.Context, c *awssqs.Client, src func() *dlqsqs.Source, sink storagefirst.Sink, first dlq.Summary) int {
	t.Helper()
	total := first.Replayed
	deadline := time.Now().Add(30 * time.Second)
	for {
		visible, hidden := counts(t, ctx, c, src().QueueURL)
		if visible+hidden == 0 {
			return total
		}
		require.True(t, time.Now().Before(deadline), "the dead-letter queue did not drain")
		sum, err := dlq.Replay(ctx, src(), sink, dlq.ReplayOptions{})
		require.NoError(t, err)
		require.Zero(t, sum.Failed)
		total += sum.Replayed
		if sum.Replayed == 0 {
			<-time.After(100 * time.Millisecond)
		}
	}
}

// TestListThenReplaySQSReplaysEverything: listing, and a dry-run replay, leave
// the messages visible, so the replay right after finds them (before, they were
// hidden for the queue's visibility timeout and the replay reported 0), and
// every message is replayed exactly once.
func TestListThenReplaySQSReplaysEverything(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := goawstest.Client(t)
	const n = 12
	dlqURL := deadLetterQueue(t, ctx, client, "5", n)
	target := goawstest.NewQueue(t, client, "", nil)
	sink, err := sqs.NewSink(client, sqs.SinkConfig{QueueURL: target})
	require.NoError(t, err)
	defer sink.Close()
	src := func() *dlqsqs.Source {
		return &dlqsqs.Source{Client: client, QueueURL: dlqURL, WaitTime: -1}
	}

	listed, err := dlq.List(ctx, src(), dlq.Filter{}, 0)
	require.NoError(t, err)
	require.NotEmpty(t, listed)
	few, err := dlq.List(ctx, src(), dlq.Filter{}, 3)
	require.NoError(t, err)
	require.NotEmpty(t, few, "a listing right after a listing finds the messages")
	dry, err := dlq.Replay(ctx, src(), sink, dlq.ReplayOptions{DryRun: true})
	require.NoError(t, err)
	require.NotZero(t, dry.Replayed, "a dry run right after the listings finds the messages")

	first, err := dlq.Replay(ctx, src(), sink, dlq.ReplayOptions{})
	require.NoError(t, err)
	require.NotZero(t, first.Replayed, "the replay right after a dry run finds the messages")
	require.Zero(t, first.Failed)
	require.Equal(t, n, replayAll(t, ctx, client, src, sink, first))
	visible, _ := counts(t, ctx, client, target)
	require.Equal(t, n, visible, "each replayed exactly once")
}

// TestSlowReplaySQSKeepsItsMessages: a replay slower than the visibility timeout
// keeps the messages it read hidden and deletes each with a valid receipt
// handle: nothing fails, nothing is replayed twice.
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
	src := func() *dlqsqs.Source {
		return &dlqsqs.Source{Client: client, QueueURL: dlqURL, VisibilityTimeout: time.Second, WaitTime: -1}
	}

	// Four entries at 2 per second take 1.5 s: longer than the 1 s visibility.
	first, err := dlq.Replay(ctx, src(), sink, dlq.ReplayOptions{RatePerSecond: 2})
	require.NoError(t, err)
	require.Zero(t, first.Failed, "%v", first.Errors)
	require.Equal(t, n, replayAll(t, ctx, client, src, sink, first))
	visible, _ := counts(t, ctx, client, target)
	require.Equal(t, n, visible, "each replayed exactly once")
}
