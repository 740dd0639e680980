package sqs_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/dlq"
	dlqsqs "github.com/storagefirst/storagefirst-go/dlq/sqs"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// sendRecorder is a SendMessageAPI that keeps what it was sent.
type sendRecorder struct{ in []*awssqs.SendMessageInput }

func (r *sendRecorder) SendMessage(_ context.Context, in *awssqs.SendMessageInput, _ ...func(*awssqs.Options)) (*awssqs.SendMessageOutput, error) {
	r.in = append(r.in, in)
	return &awssqs.SendMessageOutput{MessageId: aws.String("m-1")}, nil
}

// TestDestinationRoundTripsThroughDecode: what the Destination sends, received
// back and converted with ToMessage, decodes to the same envelope and failures.
func TestDestinationRoundTripsThroughDecode(t *testing.T) {
	t.Parallel()
	rec := &sendRecorder{}
	d := dlqsqs.Destination{Client: rec, QueueURL: "https://sqs.us-east-1.amazonaws.com/1/orders-dlq"}
	env, err := storagefirst.NewEnvelope("CreateOrder", []byte(`{"username":"lee"}`))
	require.NoError(t, err)
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	failures := []storagefirst.Failure{
		{Attempt: 1, Class: "transient", Error: "database is down", At: at, Origin: "create-order"},
		{Attempt: 2, Class: "permanent", Code: "bad-order", Error: "bad order", At: at.Add(time.Second), Origin: "create-order"},
	}
	require.NoError(t, d.SendDeadLetter(context.Background(), storagefirst.DeadLetter{Envelope: env, Failures: failures}))
	require.Len(t, rec.in, 1)
	require.Equal(t, d.QueueURL, aws.ToString(rec.in[0].QueueUrl))

	m := types.Message{MessageId: aws.String("m-1"), ReceiptHandle: aws.String("h-1"), Body: rec.in[0].MessageBody,
		MessageAttributes: rec.in[0].MessageAttributes}
	e := dlq.Decode(dlqsqs.ToMessage(m))
	require.Equal(t, dlq.KindStoragefirst, e.Kind)
	require.Equal(t, env.ID, e.Envelope.ID)
	require.JSONEq(t, string(env.Payload), string(e.Envelope.Payload))
	require.Len(t, e.Failures, 2)
	require.Equal(t, "bad-order", e.LastFailure().Code)
	require.Equal(t, "h-1", e.Handle)
	require.Equal(t, "m-1", e.MessageID)
}
