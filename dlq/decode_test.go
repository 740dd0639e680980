package dlq_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/dlq"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// createOrderEvent is the event the reference system's POST /orders puts on the bus.
const createOrderEvent = `{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"CreateOrder",` +
	`"source":"com.lee.pizza","account":"111122223333","time":"2026-11-30T12:00:00Z","region":"us-east-1",` +
	`"resources":[],"detail":{"username":"lee"}}`

func TestDecodeLambdaDestinationRecord(t *testing.T) {
	t.Parallel()
	body := `{"version":"1.0","timestamp":"2026-11-30T12:03:10.000Z","requestContext":{"requestId":"e4b46cbf-b738-xmpl-8880-a18cdf61200e",` +
		`"functionArn":"arn:aws:lambda:us-east-1:111122223333:function:create-order:$LATEST","condition":"RetriesExhausted",` +
		`"approximateInvokeCount":3},"requestPayload":` + createOrderEvent + `,"responseContext":{"statusCode":200,` +
		`"executedVersion":"$LATEST","functionError":"Unhandled"},"responsePayload":{"errorMessage":"duplicate key value violates unique constraint \"online_pkey\"","errorType":"error"}}`
	e := dlq.Decode(dlq.Message{MessageID: "m1", Body: body})
	require.Equal(t, dlq.KindLambdaDestination, e.Kind)
	require.Equal(t, "6a7e8feb-b491-4cf7-a9f1-bf3703467718", e.Envelope.ID, "the event id is the envelope ID")
	require.Equal(t, "CreateOrder", e.Envelope.Type)
	require.JSONEq(t, `{"username":"lee"}`, string(e.Envelope.Payload))
	f := e.LastFailure()
	require.Equal(t, 3, f.Attempt)
	require.Equal(t, "error", f.Code)
	require.Contains(t, f.Error, "RetriesExhausted: duplicate key value")
	require.Equal(t, "arn:aws:lambda:us-east-1:111122223333:function:create-order:$LATEST", f.Origin)
	require.Equal(t, time.Date(2026, 11, 30, 12, 3, 10, 0, time.UTC), e.DeadAt)
	require.True(t, e.Replayable())

	// Event age exceeded: no response payload at all.
	aged := `{"version":"1.0","timestamp":"2026-11-30T18:00:00Z","requestContext":{"requestId":"r","functionArn":"f",` +
		`"condition":"EventAgeExceeded","approximateInvokeCount":0},"requestPayload":` + createOrderEvent + `}`
	e = dlq.Decode(dlq.Message{MessageID: "m2", Body: aged})
	require.Equal(t, dlq.KindLambdaDestination, e.Kind)
	require.Equal(t, "EventAgeExceeded", e.LastFailure().Code)
}

func TestDecodeEventBridgeTargetDLQ(t *testing.T) {
	t.Parallel()
	e := dlq.Decode(dlq.Message{MessageID: "m1", Body: createOrderEvent, Attributes: map[string]string{
		"RULE_ARN": "arn:aws:events:us-east-1:111122223333:rule/pizza/create", "TARGET_ARN": "arn:aws:lambda:us-east-1:111122223333:function:create-order",
		"ERROR_CODE": "NO_PERMISSIONS", "ERROR_MESSAGE": "not authorized", "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts",
		"RETRY_ATTEMPTS": "0", "SentTimestamp": "1764504000000"}})
	require.Equal(t, dlq.KindEventBridgeTarget, e.Kind)
	require.Equal(t, "6a7e8feb-b491-4cf7-a9f1-bf3703467718", e.Envelope.ID)
	f := e.LastFailure()
	require.Equal(t, "NO_PERMISSIONS", f.Code)
	require.Equal(t, "permanent", f.Class)
	require.Equal(t, 1, f.Attempt)
	require.Contains(t, f.Error, "MaximumRetryAttempts")
	require.Contains(t, f.Origin, "rule/pizza/create -> ")
	require.Equal(t, int64(1764504000000), e.DeadAt.UnixMilli())
}

func TestDecodeStepFunctionsCatch(t *testing.T) {
	t.Parallel()
	body := `{"Error":"Lambda.ServiceException","Cause":"{\"errorMessage\":\"Rate Exceeded.\",\"errorType\":\"ServiceException\",\"trace\":[]}"}`
	e := dlq.Decode(dlq.Message{MessageID: "m1", Body: body})
	require.Equal(t, dlq.KindStepFunctionsCatch, e.Kind)
	require.Equal(t, "Lambda.ServiceException", e.LastFailure().Code)
	require.Equal(t, "ServiceException: Rate Exceeded.", e.LastFailure().Error)
	require.Equal(t, "m1", e.Envelope.ID)

	// With ResultPath "$.error" the input stays beside the error: the input is the
	// payload (a typed consumer would reject the error field on replay), the error
	// is the failure.
	merged := `{"actionType":"cancel","body":{"username":"lee"},"error":{"Error":"States.Timeout","Cause":"task timed out"}}`
	e = dlq.Decode(dlq.Message{MessageID: "m2", Body: merged})
	require.Equal(t, dlq.KindStepFunctionsCatch, e.Kind)
	require.Equal(t, "States.Timeout", e.LastFailure().Code)
	require.Equal(t, "task timed out", e.LastFailure().Error)
	require.JSONEq(t, `{"actionType":"cancel","body":{"username":"lee"}}`, string(e.Envelope.Payload))
}

func TestDecodeRedriveAndUnknown(t *testing.T) {
	t.Parallel()
	env, err := storagefirst.NewEnvelope("CreateOrder", []byte(`{"username":"lee"}`))
	require.NoError(t, err)
	b, _ := json.Marshal(env)
	e := dlq.Decode(dlq.Message{MessageID: "m1", Body: string(b), Attributes: map[string]string{
		"DeadLetterQueueSourceArn": "arn:aws:sqs:us-east-1:111122223333:orders", "ApproximateReceiveCount": "5"}})
	require.Equal(t, dlq.KindSQSRedrive, e.Kind)
	require.Equal(t, env.ID, e.Envelope.ID)
	require.Equal(t, 5, e.LastFailure().Attempt)
	require.Equal(t, "MAX_RECEIVE_COUNT", e.LastFailure().Code)

	for _, body := range []string{"not json at all", `{"some":"shape"}`, ``, `{"Error":""}`} {
		e := dlq.Decode(dlq.Message{MessageID: "m2", Body: body})
		require.Equal(t, dlq.KindUnknown, e.Kind, body)
		require.Equal(t, dlq.TypeUnknown, e.Envelope.Type)
		require.Equal(t, body, string(e.Raw), "kept verbatim")
		require.True(t, json.Valid(e.Envelope.Payload))
		require.False(t, e.Replayable())
	}
}

func FuzzDecode(f *testing.F) {
	f.Add("m", createOrderEvent, "ERROR_CODE", "THROTTLING")
	f.Add("m", `{"requestContext":{},"requestPayload":{}}`, "", "")
	f.Add("m", `{"Error":"x","Cause":"{\"errorMessage\":1}"}`, "", "")
	f.Add("", `{"id":"x","type":"t","accepted_at":"2026-01-01T00:00:00Z"}`, "storagefirst-error-class", "permanent")
	f.Add("m", `{"id":"x"}`, "DeadLetterQueueSourceArn", "arn")
	f.Fuzz(func(t *testing.T, id, body, attr, value string) {
		e := dlq.Decode(dlq.Message{MessageID: id, Body: body, Attributes: map[string]string{attr: value}})
		require.NotEmpty(t, e.Kind)
		require.Equal(t, body, string(e.Raw))
		require.NotEmpty(t, e.Failures)
		if e.Kind != dlq.KindUnknown {
			require.NoError(t, e.Envelope.Validate())
		}
	})
}
