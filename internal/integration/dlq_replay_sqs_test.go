package integration_test

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/dlq"
	dlqsqs "github.com/storagefirst/storagefirst-go/dlq/sqs"
	"github.com/storagefirst/storagefirst-go/ingest/sqs"
	"github.com/storagefirst/storagefirst-go/internal/integration/goawstest"
	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
)

// drain receives the messages of url, runs the batch handler on them as Lambda
// would, and deletes those it did not report as failed, until the queue holds
// none (visible or in flight), polling within a 20 s deadline: an empty answer is
// not the end, goaws may have cut one short (the queue's short visibility timeout
// brings such messages back). A message received again is handled again, as
// Lambda would.
func drain(t *testing.T, ctx context.Context, c *awssqs.Client, url string, h func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10,
			MessageAttributeNames: []string{"All"}, MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"}})
		require.NoError(t, err)
		if len(out.Messages) == 0 {
			if visible, hidden := counts(t, ctx, c, url); visible+hidden == 0 {
				return
			}
			require.True(t, time.Now().Before(deadline), "the queue did not drain")
			<-time.After(50 * time.Millisecond)
			continue
		}
		var ev events.SQSEvent
		for _, m := range out.Messages {
			ev.Records = append(ev.Records, events.SQSMessage{MessageId: aws.ToString(m.MessageId), Body: aws.ToString(m.Body),
				EventSourceARN: "arn:aws:sqs:us-east-1:100010001000:orders", Attributes: m.Attributes})
		}
		resp, err := h(ctx, ev)
		require.NoError(t, err)
		failed := map[string]bool{}
		for _, f := range resp.BatchItemFailures {
			failed[f.ItemIdentifier] = true
		}
		for _, m := range out.Messages {
			if !failed[aws.ToString(m.MessageId)] {
				_, err := c.DeleteMessage(ctx, &awssqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle})
				require.NoError(t, err)
			}
		}
	}
}

// flakyDelete fails the first Delete: a replay that dies after a re-put.
type flakyDelete struct {
	dlq.Source
	once sync.Once
}

func (f *flakyDelete) Delete(ctx context.Context, e dlq.Entry) (err error) {
	f.once.Do(func() { err = errors.New("crashed before the delete") })
	if err != nil {
		return err
	}
	return f.Source.Delete(ctx, e)
}

// TestReplaySQSExactlyOnce runs the same story as the Postgres test on SQS
// (goaws): the dead letters go to an SQS DLQ through the dlq middleware, and the
// replay re-sends them through the SQS sink.
func TestReplaySQSExactlyOnce(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := goawstest.Client(t)
	ordersURL := goawstest.NewQueue(t, client, "", map[string]string{"VisibilityTimeout": "1"})
	// goaws hides received messages for the queue's visibility timeout, whatever
	// the request asks.
	dlqURL := goawstest.NewQueue(t, client, "", map[string]string{"VisibilityTimeout": "1"})
	sink, err := sqs.NewSink(client, sqs.SinkConfig{QueueURL: ordersURL})
	require.NoError(t, err)
	defer sink.Close()

	var fixed atomic.Bool
	var mu sync.Mutex
	effects := map[string]int{}
	effect := storagefirst.HandlerFunc(func(_ context.Context, env storagefirst.Envelope) error {
		if !fixed.Load() && strings.Contains(string(env.Payload), "poison") {
			return storagefirst.Permanentf("cannot parse the order")
		}
		mu.Lock()
		effects[env.Key()]++
		mu.Unlock()
		return nil
	})
	chain := storagefirst.Chain(effect,
		deadLetters(t, dlq.MiddlewareConfig{Destination: dlqsqs.Destination{Client: client, QueueURL: dlqURL}, Origin: "create-order",
			Logger: slog.New(slog.DiscardHandler)}),
		idempotent(t, storagefirst.IdempotentConfig{Store: sftest.NewMemoryIdempotencyStore(nil)}))
	handler := sqs.NewBatchHandler(chain, sqs.BatchConfig{AllowAllFailed: true})

	const n, poisoned = 10, 4
	for i := range n {
		body := `{"pizza":"margherita"}`
		if i < poisoned {
			body = `{"pizza":"poison"}`
		}
		e, err := storagefirst.NewEnvelope("CreateOrder", []byte(body))
		require.NoError(t, err)
		require.NoError(t, sink.Put(ctx, e))
	}
	drain(t, ctx, client, ordersURL, handler)
	require.Len(t, effects, n-poisoned)

	src := &dlqsqs.Source{Client: client, QueueURL: dlqURL, VisibilityTimeout: time.Second, WaitTime: -1}
	listed, err := dlq.List(ctx, src, dlq.Filter{}, 0)
	require.NoError(t, err)
	require.Len(t, listed, poisoned)
	for _, e := range listed {
		require.Equal(t, dlq.KindStoragefirst, e.Kind)
		require.Equal(t, "cannot parse the order", e.LastFailure().Error)
		require.Equal(t, "create-order", e.LastFailure().Origin)
	}

	fixed.Store(true)
	// Listing leaves the messages visible (Source releases them); replay with a
	// crash after the first re-put.
	hidden := func() int {
		out, err := client.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{QueueUrl: aws.String(dlqURL),
			AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
		require.NoError(t, err)
		return atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
	}
	waitFor(t, "the listed messages to be visible again", func() bool { return hidden() == 0 })
	flaky := &flakyDelete{Source: &dlqsqs.Source{Client: client, QueueURL: dlqURL, VisibilityTimeout: time.Second, WaitTime: -1}}
	sum, err := dlq.Replay(ctx, flaky, sink, dlq.ReplayOptions{})
	require.NoError(t, err)
	require.Equal(t, poisoned-1, sum.Replayed)
	require.Equal(t, 1, sum.Failed)
	drain(t, ctx, client, ordersURL, handler)
	require.Len(t, effects, n)

	// Run again: the entry whose delete failed is re-put; idempotency skips it.
	waitFor(t, "the undeleted message to be visible again", func() bool { return hidden() == 0 })
	sum, err = dlq.Replay(ctx, &dlqsqs.Source{Client: client, QueueURL: dlqURL, VisibilityTimeout: time.Second, WaitTime: -1},
		sink, dlq.ReplayOptions{})
	require.NoError(t, err)
	require.Equal(t, 1, sum.Replayed)
	drain(t, ctx, client, ordersURL, handler)
	for key, c := range effects {
		require.Equal(t, 1, c, "effect of %s", key)
	}
	require.Len(t, effects, n)
	left, err := dlq.List(ctx, src, dlq.Filter{}, 0)
	require.NoError(t, err)
	require.Empty(t, left)
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
