package awsenv_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/internal/awsenv"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

func TestFromSQSAttributesAndTransports(t *testing.T) {
	t.Parallel()
	// SNS notification with a storagefirst-id message attribute: the attribute wins.
	sns := `{"Type":"Notification","MessageId":"sns-1","TopicArn":"arn:aws:sns:us-east-1:1:t","Subject":"CreateOrder",` +
		`"Message":"{\"username\":\"lee\"}","Timestamp":"2026-11-30T12:00:00Z",` +
		`"MessageAttributes":{"storagefirst-id":{"Type":"String","Value":"env-1"},"storagefirst-key":{"Type":"String","Value":"k-1"}}}`
	env, err := awsenv.FromSQS(awsenv.SQSMessage{MessageID: "m1", Body: sns})
	require.NoError(t, err)
	require.Equal(t, "env-1", env.ID)
	require.Equal(t, "k-1", env.IdempotencyKey)
	require.Equal(t, "CreateOrder", env.Type)
	require.JSONEq(t, `{"username":"lee"}`, string(env.Payload))

	// An EventBridge event in SQS: the event id, whatever the message ID.
	ev := `{"version":"0","id":"ev-1","detail-type":"CreateOrder","source":"com.lee.pizza","time":"2026-11-30T12:00:00Z","detail":{"username":"lee"}}`
	env, err = awsenv.FromSQS(awsenv.SQSMessage{MessageID: "m2", Body: ev})
	require.NoError(t, err)
	require.Equal(t, "ev-1", env.ID)
	require.Equal(t, "com.lee.pizza", env.Source)

	// Bad metadata JSON is ignored, not fatal.
	env, err = awsenv.FromSQS(awsenv.SQSMessage{MessageID: "m3", Body: `{}`, Attributes: map[string]string{awsenv.AttrMetadata: "{"}})
	require.NoError(t, err)
	require.Nil(t, env.Metadata)
	_, err = awsenv.FromSQS(awsenv.SQSMessage{MessageID: "m4", Body: "\x1f\x8b"})
	require.ErrorIs(t, err, storagefirst.ErrInvalidEnvelope)
}

func FuzzFromSQS(f *testing.F) {
	f.Add("m1", `{"username":"lee"}`, "", "", "")
	f.Add("m2", `{"Type":"Notification","MessageId":"s","Message":"{}"}`, "id", "key", `{"a":"b"}`)
	f.Add("m3", `{"version":"0","id":"e","detail-type":"t","source":"s","detail":{}}`, "", "", "")
	f.Add("", "\xff", "\xff", "", "null")
	f.Fuzz(func(t *testing.T, id, body, attrID, attrKey, metadata string) {
		attrs := map[string]string{awsenv.AttrID: attrID, awsenv.AttrKey: attrKey, awsenv.AttrMetadata: metadata}
		env, err := awsenv.FromSQS(awsenv.SQSMessage{MessageID: id, Body: body, Attributes: attrs, SentTimestamp: "1764504000000"})
		if err != nil {
			require.ErrorIs(t, err, storagefirst.ErrInvalidEnvelope)
			return
		}
		require.NoError(t, env.Validate())
		require.True(t, json.Valid(env.Payload))
	})
}
