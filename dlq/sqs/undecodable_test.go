package sqs_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/dlq"
	dlqsqs "github.com/storagefirst/storagefirst-go/dlq/sqs"
)

// TestLargeUndecodableRecordFitsAnSQSDeadLetter: a poison record of nearly
// 1 MiB (a Kinesis record's limit) is dead-lettered to SQS, whose fake enforces
// the 1 MiB message limit, with its first bytes, total length and SHA-256.
func TestLargeUndecodableRecordFitsAnSQSDeadLetter(t *testing.T) {
	t.Parallel()
	fake, client := newFake(t)
	url := "https://sqs.us-east-1.amazonaws.com/1/dlq"
	d := dlqsqs.Destination{Client: client, QueueURL: url}

	data := make([]byte, 1<<20-64)
	_, _ = rand.Read(data)
	md := map[string]string{dlq.MetaPartitionKey: "order-1", dlq.MetaSequenceNumber: "49590338271490256608559692538361571095921575989136588898"}
	require.NoError(t, dlq.SendUndecodable(context.Background(), d, dlq.Raw{ID: "shardId-000000000000:1", Data: data, Metadata: md},
		errors.New("not JSON"), "kinesis"))

	msgs := fake.Messages()
	require.Len(t, msgs, 1)
	require.LessOrEqual(t, len(msgs[0].Body), 1<<20)
	m := types.Message{MessageId: aws.String(msgs[0].MessageID), ReceiptHandle: aws.String("h"), Body: aws.String(msgs[0].Body),
		MessageAttributes: map[string]types.MessageAttributeValue{}}
	for k, v := range msgs[0].Attributes {
		m.MessageAttributes[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	e := dlq.Decode(dlqsqs.ToMessage(m))
	require.Equal(t, dlq.TypeUndecodable, e.Envelope.Type)
	require.False(t, e.Replayable())
	require.Equal(t, "order-1", e.Envelope.Metadata[dlq.MetaPartitionKey])
	var p dlq.UndecodablePayload
	require.NoError(t, json.Unmarshal(e.Envelope.Payload, &p))
	sum := sha256.Sum256(data)
	require.True(t, p.Truncated)
	require.Equal(t, len(data), p.Length)
	require.Equal(t, hex.EncodeToString(sum[:]), p.SHA256)
	require.Equal(t, data[:dlq.UndecodableDataLimit], p.Data)
}
