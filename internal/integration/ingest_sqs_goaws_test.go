package integration_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/ingest/sqs"
	"github.com/storagefirst/storagefirst-go/internal/integration/goawstest"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

func envs(t *testing.T, n int) []storagefirst.Envelope {
	out := make([]storagefirst.Envelope, n)
	for i := range out {
		e, err := storagefirst.NewEnvelope("CreateOrder", fmt.Appendf(nil, `{"username":"user-%d"}`, i))
		require.NoError(t, err)
		e.CorrelationID = fmt.Sprintf("corr-%d", i)
		out[i] = e
	}
	return out
}

// toEvent turns received messages into the event Lambda's SQS event source builds.
func toEvent(queueARN string, msgs []types.Message) events.SQSEvent {
	var ev events.SQSEvent
	for _, m := range msgs {
		rec := events.SQSMessage{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
			Body: aws.ToString(m.Body), Attributes: m.Attributes, EventSourceARN: queueARN,
			MessageAttributes: map[string]events.SQSMessageAttribute{}}
		for k, v := range m.MessageAttributes {
			rec.MessageAttributes[k] = events.SQSMessageAttribute{DataType: aws.ToString(v.DataType), StringValue: v.StringValue}
		}
		ev.Records = append(ev.Records, rec)
	}
	return ev
}

// TestRoundTripThroughGoaws: the sink sends, a real SQS client receives, the batch
// handler processes with partial failures, and only the failures stay.
func TestRoundTripThroughGoaws(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client := goawstest.Client(t)
	// A short visibility timeout: a message whose ReceiveMessage answer goaws cut
	// short (it does now and then under the race detector) comes back soon.
	url := goawstest.NewQueue(t, client, "", map[string]string{"VisibilityTimeout": "1"})
	sink, err := sqs.NewSink(client, sqs.SinkConfig{QueueURL: url})
	require.NoError(t, err)
	defer sink.Close()

	in := envs(t, 15)
	require.NoError(t, sink.Put(ctx, in...))
	received := receiveAll(t, ctx, client, url, len(in))
	want := map[string]bool{}
	for _, e := range in {
		want[e.ID] = true
	}
	got := map[string]bool{}
	for _, m := range received {
		var env storagefirst.Envelope
		require.NoError(t, json.Unmarshal([]byte(aws.ToString(m.Body)), &env))
		got[env.ID] = true
	}
	require.Equal(t, want, got, "exactly the envelopes sent")

	seen := map[string]storagefirst.Envelope{}
	failID := in[4].ID
	h := sqs.NewBatchHandler(storagefirst.HandlerFunc(func(_ context.Context, env storagefirst.Envelope) error {
		seen[env.ID] = env
		if env.ID == failID {
			return errors.New("database is down")
		}
		return nil
	}), sqs.BatchConfig{})
	ev := toEvent("arn:aws:sqs:us-east-1:100010001000:q", received)
	resp, err := h(ctx, ev)
	require.NoError(t, err)
	require.Len(t, seen, 15)
	for _, e := range in {
		got := seen[e.ID]
		require.Equal(t, e.CorrelationID, got.CorrelationID)
		require.JSONEq(t, string(e.Payload), string(got.Payload))
		require.True(t, e.AcceptedAt.Equal(got.AcceptedAt))
	}
	require.Len(t, resp.BatchItemFailures, 1)
	for _, m := range received {
		var env storagefirst.Envelope
		require.NoError(t, json.Unmarshal([]byte(aws.ToString(m.Body)), &env))
		// (goaws 0.4.5 drops the attributes of batched messages; the awsfake tests
		// check them.)
		if env.ID == failID {
			require.Equal(t, aws.ToString(m.MessageId), resp.BatchItemFailures[0].ItemIdentifier)
		}
	}
}

// receiveAll receives from url until it holds n distinct messages (by message ID;
// one received again after its visibility timeout counts once), polling within a
// 20 s deadline: an empty answer is not the end, goaws may have cut one short.
func receiveAll(t *testing.T, ctx context.Context, c *awssqs.Client, url string, n int) []types.Message {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	byID := map[string]bool{}
	var received []types.Message
	for len(received) < n {
		require.True(t, time.Now().Before(deadline), "%d of %d messages arrived", len(received), n)
		out, err := c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10,
			MessageAttributeNames: []string{"All"}, MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"}})
		require.NoError(t, err)
		if len(out.Messages) == 0 {
			<-time.After(50 * time.Millisecond)
		}
		for _, m := range out.Messages {
			if id := aws.ToString(m.MessageId); !byID[id] {
				byID[id] = true
				received = append(received, m)
			}
		}
	}
	require.Len(t, received, n)
	return received
}
