package sqs_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/awsfake"
	"github.com/storagefirst/storagefirst-go/dlq"
	dlqsqs "github.com/storagefirst/storagefirst-go/dlq/sqs"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// TestSourceListAndReplayAgainstTheFake: the Source works against awsfake too
// (ReceiveMessage, ChangeMessageVisibility to release, DeleteMessage).
func TestSourceListAndReplayAgainstTheFake(t *testing.T) {
	t.Parallel()
	fake := awsfake.New()
	defer fake.Close()
	client := awssqs.NewFromConfig(fake.Config(), func(o *awssqs.Options) { o.BaseEndpoint = aws.String(fake.URL()) })
	ctx := context.Background()
	url := "https://sqs.us-east-1.amazonaws.com/1/dlq"
	env, err := storagefirst.NewEnvelope("CreateOrder", []byte(`{"username":"lee"}`))
	require.NoError(t, err)
	body, err := json.Marshal(env)
	require.NoError(t, err)
	fake.AddMessage(awsfake.Message{QueueURL: url, Body: string(body), Attributes: map[string]string{
		dlq.AttrErrorClass: "permanent", dlq.AttrError: "bad", dlq.AttrLastFailedAt: time.Now().UTC().Format(time.RFC3339Nano)}})
	// The fake has no visibility timeouts: list one at a time.
	listed, err := dlq.List(ctx, &dlqsqs.Source{Client: client, QueueURL: url, WaitTime: -1}, dlq.Filter{}, 1)
	require.NoError(t, err)
	require.Len(t, listed, 1)
	require.Equal(t, env.ID, listed[0].Envelope.ID)
	require.Equal(t, 1, fake.Calls(awsfake.OpChangeVisibility), "released")
	require.NoError(t, (&dlqsqs.Source{Client: client, QueueURL: url}).Delete(ctx, listed[0]))
	require.Empty(t, fake.Messages())
}
