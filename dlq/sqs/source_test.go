package sqs_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/awsfake"
	"github.com/storagefirst/storagefirst-go/dlq"
	dlqsqs "github.com/storagefirst/storagefirst-go/dlq/sqs"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// TestSourceListAndReplayAgainstTheFake: the Source works against awsfake too
// (ReceiveMessage hiding what it returns, ChangeMessageVisibilityBatch to
// release, DeleteMessage).
func TestSourceListAndReplayAgainstTheFake(t *testing.T) {
	t.Parallel()
	fake, client := newFake(t)
	ctx := context.Background()
	url := "https://sqs.us-east-1.amazonaws.com/1/dlq"
	env, err := storagefirst.NewEnvelope("CreateOrder", []byte(`{"username":"lee"}`))
	require.NoError(t, err)
	body, err := json.Marshal(env)
	require.NoError(t, err)
	fake.AddMessage(awsfake.Message{QueueURL: url, Body: string(body), Attributes: map[string]string{
		dlq.AttrErrorClass: "permanent", dlq.AttrError: "bad", dlq.AttrLastFailedAt: time.Now().UTC().Format(time.RFC3339Nano)}})
	listed, err := dlq.List(ctx, &dlqsqs.Source{Client: client, QueueURL: url, WaitTime: -1}, dlq.Filter{}, 10)
	require.NoError(t, err)
	require.Len(t, listed, 1)
	require.Equal(t, env.ID, listed[0].Envelope.ID)
	require.Equal(t, 1, fake.Calls(awsfake.OpChangeVisibilityBatch), "released")
	require.NoError(t, (&dlqsqs.Source{Client: client, QueueURL: url}).Delete(ctx, listed[0]))
	require.Empty(t, fake.Messages())
}

// TestSourceReleasesInBatches: a pass that read 25 messages makes them visible
// again in three ChangeMessageVisibilityBatch requests (10, 10, 5), not 25 calls;
// an entry that fails is reported, one whose message is gone is not, and the
// others are released all the same.
func TestSourceReleasesInBatches(t *testing.T) {
	t.Parallel()
	fake, client := newFake(t)
	ctx := context.Background()
	url := "https://sqs.us-east-1.amazonaws.com/1/dlq"
	for range 25 {
		fake.AddMessage(awsfake.Message{QueueURL: url, Body: `{"username":"lee"}`})
	}
	src := &dlqsqs.Source{Client: client, QueueURL: url, WaitTime: -1}
	var read []dlq.Entry
	for {
		es, err := src.Read(ctx, 10)
		require.NoError(t, err)
		if len(read) == 25 {
			require.Empty(t, es, "all hidden")
			break
		}
		read = append(read, es...)
	}
	// That empty Read ended the pass and released the 25: visible again.
	require.Equal(t, 3, fake.Calls(awsfake.OpChangeVisibilityBatch))
	require.Zero(t, fake.Calls(awsfake.OpChangeVisibility))
	again, err := src.Read(ctx, 10)
	require.NoError(t, err)
	require.Len(t, again, 10)

	// One entry fails for good, one message is gone by the time of the release.
	refused := "rh-" + again[3].MessageID
	fake.FailEntries(awsfake.OpChangeVisibilityBatch, func(e awsfake.Entry) (string, string, bool) {
		if e.Key == refused {
			return "AWS.SimpleQueueService.InternalError", "try again", false
		}
		return "", "", false
	})
	require.NoError(t, (&dlqsqs.Source{Client: client, QueueURL: url}).Delete(ctx, again[5]))
	err = src.Release(ctx)
	require.ErrorContains(t, err, again[3].MessageID)
	require.NotContains(t, err.Error(), again[5].MessageID)
	visible, err := src.Read(ctx, 10)
	require.NoError(t, err)
	require.Len(t, visible, 10, "the other 8 were released, and the queue had more")
	for _, e := range visible {
		require.NotEqual(t, again[3].MessageID, e.MessageID, "still hidden")
	}

	// An endpoint that refuses the batch request (goaws does not speak it): the
	// pass falls back to one ChangeMessageVisibility per message.
	fake.FailEntries(awsfake.OpChangeVisibilityBatch, nil)
	fake.FailNext(awsfake.OpChangeVisibilityBatch, 1, 400, "InvalidAction")
	require.NoError(t, src.Release(ctx))
	require.Equal(t, 10, fake.Calls(awsfake.OpChangeVisibility))
	back, err := src.Read(ctx, 10)
	require.NoError(t, err)
	require.Len(t, back, 10)
	require.Equal(t, visible[0].MessageID, back[0].MessageID, "visible again")
}
