package sqs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/dlq"
	dlqsqs "github.com/storagefirst/storagefirst-go/dlq/sqs"
	"github.com/storagefirst/storagefirst-go/ingest/sqs"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// TestSinkEscapesCharactersSQSRefuses: valid JSON text may hold characters SQS
// refuses in a message (U+FFFE, U+FFFF, control characters in metadata); the
// fake refuses them as SQS does, and the sink sends them as JSON escapes, so the
// message is accepted and reads back as exactly what was put. The dead-letter
// destination does the same for a letter whose error text holds such bytes.
func TestSinkEscapesCharactersSQSRefuses(t *testing.T) {
	t.Parallel()
	s, fake := newFakeSink(t, sqs.SinkConfig{QueueURL: "https://sqs.us-east-1.amazonaws.com/1/orders"})
	env, err := storagefirst.NewEnvelope("CreateOrder", []byte("{\"username\":\"lee\ufffe\uffff\"}"))
	require.NoError(t, err)
	env.Metadata = map[string]string{"note": "a\x01b\x0bc"}
	require.NoError(t, s.Put(context.Background(), env))
	msgs := fake.Messages()
	require.Len(t, msgs, 1)
	m := events.SQSMessage{MessageId: msgs[0].MessageID, Body: msgs[0].Body, MessageAttributes: map[string]events.SQSMessageAttribute{}}
	for k, v := range msgs[0].Attributes {
		m.MessageAttributes[k] = events.SQSMessageAttribute{DataType: "String", StringValue: aws.String(v)}
	}
	got, err := sqs.EnvelopeFromMessage(m)
	require.NoError(t, err)
	require.JSONEq(t, string(env.Payload), string(got.Payload))
	require.Equal(t, env.Metadata, got.Metadata)

	client := awssqs.NewFromConfig(fake.Config(), func(o *awssqs.Options) { o.BaseEndpoint = aws.String(fake.URL()) })
	d := dlqsqs.Destination{Client: client, QueueURL: "https://sqs.us-east-1.amazonaws.com/1/dlq"}
	f := storagefirst.NewFailure(1, time.Now(), storagefirst.Permanent(errors.New("bad byte \x00 in \uffff")))
	f.Origin = "create-order"
	require.NoError(t, d.SendDeadLetter(context.Background(), storagefirst.DeadLetter{Envelope: env, Failures: []storagefirst.Failure{f}}))
	msgs = fake.Messages()
	require.Len(t, msgs, 2)
	e := dlq.Decode(dlq.Message{MessageID: msgs[1].MessageID, Body: msgs[1].Body, Attributes: msgs[1].Attributes})
	require.Equal(t, dlq.KindStoragefirst, e.Kind)
	require.Equal(t, env.ID, e.Envelope.ID)
	require.JSONEq(t, string(env.Payload), string(e.Envelope.Payload))
	require.Contains(t, e.LastFailure().Error, "bad byte")
}
