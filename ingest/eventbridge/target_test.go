package eventbridge_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/dlq"
	"github.com/storagefirst/storagefirst-go/ingest/eventbridge"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

func TestTargetDecodesSinkEnvelopesAndRawEvents(t *testing.T) {
	t.Parallel()
	var got []storagefirst.Envelope
	target := eventbridge.NewTarget(storagefirst.HandlerFunc(func(_ context.Context, env storagefirst.Envelope) error {
		got = append(got, env)
		return nil
	}))
	ctx := context.Background()

	// Written by the sink: the envelope comes back whole.
	env := envs(t, 1)[0]
	env.IdempotencyKey, env.CorrelationID, env.Metadata = "k", "c", map[string]string{"a": "b"}
	detail, err := json.Marshal(env)
	require.NoError(t, err)
	require.NoError(t, target(ctx, events.EventBridgeEvent{ID: "ev-1", DetailType: "CreateOrder", Source: "s", Detail: detail}))
	require.Equal(t, env, got[0])

	// What an API Gateway direct integration puts (the reference system's create
	// order): the event id becomes the envelope ID.
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	raw := `{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"CreateOrder","source":"com.lee.pizza",` +
		`"account":"111122223333","time":"2026-11-30T12:00:00Z","region":"us-east-1","resources":[],"detail":{"username":"lee"}}`
	var ev events.EventBridgeEvent
	require.NoError(t, json.Unmarshal([]byte(raw), &ev))
	require.NoError(t, target(ctx, ev))
	require.Equal(t, "6a7e8feb-b491-4cf7-a9f1-bf3703467718", got[1].ID)
	require.Equal(t, "CreateOrder", got[1].Type)
	require.Equal(t, "com.lee.pizza", got[1].Source)
	require.Equal(t, at, got[1].AcceptedAt)
	require.JSONEq(t, `{"username":"lee"}`, string(got[1].Payload))

	err = target(ctx, events.EventBridgeEvent{ID: "x", Detail: json.RawMessage(`{not json`)})
	require.True(t, storagefirst.IsPermanent(err))
	require.ErrorIs(t, err, storagefirst.ErrInvalidEnvelope)
}

func FuzzEnvelopeFromEvent(f *testing.F) {
	f.Add([]byte(`{"version":"0","id":"e1","detail-type":"CreateOrder","source":"com.lee.pizza","time":"2026-11-30T12:00:00Z","detail":{"username":"lee"}}`))
	f.Add([]byte(`{"id":"e2","detail":{"id":"0192","type":"t","accepted_at":"2026-11-30T12:00:00Z","payload":{}}}`))
	f.Add([]byte(`{"id":"e3","detail":null}`))
	f.Add([]byte(`{"detail":"\u0000"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var ev events.EventBridgeEvent
		if json.Unmarshal(data, &ev) != nil {
			return
		}
		env, err := eventbridge.EnvelopeFromEvent(ev)
		if err != nil {
			require.ErrorIs(t, err, storagefirst.ErrInvalidEnvelope)
			return
		}
		require.NoError(t, env.Validate())
	})
}

type deadLetters struct{ letters []storagefirst.DeadLetter }

func (d *deadLetters) SendDeadLetter(_ context.Context, dl storagefirst.DeadLetter) error {
	d.letters = append(d.letters, dl)
	return nil
}

func TestTargetDeadLettersAnUndecodableEvent(t *testing.T) {
	t.Parallel()
	dest := &deadLetters{}
	handled := 0
	deadLetter, err := dlq.Middleware(dlq.MiddlewareConfig{Destination: dest})
	require.NoError(t, err)
	chain := deadLetter(storagefirst.HandlerFunc(func(context.Context, storagefirst.Envelope) error {
		handled++
		return nil
	}))
	target := eventbridge.NewTargetWithConfig(chain, eventbridge.TargetConfig{DeadLetters: dest})
	ctx := context.Background()
	require.NoError(t, target(ctx, events.EventBridgeEvent{ID: "ev-1", Source: "s", Detail: json.RawMessage(`{not json`)}))
	require.NoError(t, target(ctx, events.EventBridgeEvent{ID: "ev-2", Source: "s", DetailType: "CreateOrder", Detail: json.RawMessage(`{}`)}))
	require.Equal(t, 1, handled)
	require.Len(t, dest.letters, 1)
	dl := dest.letters[0]
	require.Equal(t, "ev-1", dl.Envelope.ID)
	require.Equal(t, dlq.TypeUndecodable, dl.Envelope.Type)
	var p dlq.UndecodablePayload
	require.NoError(t, json.Unmarshal(dl.Envelope.Payload, &p))
	require.Equal(t, `{not json`, string(p.Data))
	require.Equal(t, "permanent", dl.LastFailure().Class)

	// NewTarget, without DeadLetters: the chain's dlq middleware dead-letters the
	// stand-in; without the middleware the event fails for good, as before.
	require.NoError(t, eventbridge.NewTarget(chain)(ctx, events.EventBridgeEvent{ID: "ev-1", Source: "s", Detail: json.RawMessage(`{not json`)}))
	require.Equal(t, 1, handled)
	require.Len(t, dest.letters, 2)
	require.Equal(t, dl.Envelope.ID, dest.letters[1].Envelope.ID)
	require.Equal(t, dl.Envelope.Payload, dest.letters[1].Envelope.Payload)
	err = eventbridge.NewTarget(storagefirst.HandlerFunc(func(context.Context, storagefirst.Envelope) error { return nil }))(
		ctx, events.EventBridgeEvent{ID: "ev-1", Source: "s", Detail: json.RawMessage(`{not json`)})
	require.True(t, storagefirst.IsPermanent(err))
}
