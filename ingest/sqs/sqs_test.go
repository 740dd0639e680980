package sqs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/awsfake"
	"github.com/storagefirst/storagefirst-go/dlq"
	"github.com/storagefirst/storagefirst-go/ingest/sqs"
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

func newFakeSink(t *testing.T, cfg sqs.SinkConfig) (*sqs.Sink, *awsfake.Server) {
	fake := awsfake.New()
	t.Cleanup(fake.Close)
	client := awssqs.NewFromConfig(fake.Config(), func(o *awssqs.Options) { o.BaseEndpoint = aws.String(fake.URL()) })
	s, err := sqs.NewSink(client, cfg)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s, fake
}

func TestSinkPartialFailures(t *testing.T) {
	t.Parallel()
	s, fake := newFakeSink(t, sqs.SinkConfig{QueueURL: "https://sqs.us-east-1.amazonaws.com/1/orders"})
	in := envs(t, 12)
	bad := in[7].ID
	fake.FailEntries(awsfake.OpSendMessageBatch, func(e awsfake.Entry) (string, string, bool) {
		switch {
		case strings.Contains(e.Key, bad):
			return "InvalidParameterValue", "no", true // the sender's fault: permanent
		case e.Seen == 0 && strings.Contains(e.Key, "user-1"):
			return "InternalError", "try again", false
		}
		return "", "", false
	})
	err := s.Put(context.Background(), in...)
	var pe *storagefirst.PutError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, []string{bad}, pe.FailedIDs())
	require.True(t, storagefirst.IsPermanent(pe.Failed[0].Err))
	require.Len(t, fake.Messages(), 11)
}

func TestSinkFIFOAndSizes(t *testing.T) {
	t.Parallel()
	s, fake := newFakeSink(t, sqs.SinkConfig{QueueURL: "https://sqs.us-east-1.amazonaws.com/1/orders.fifo"})
	in := envs(t, 2)
	in[0].Metadata = map[string]string{sqs.MetadataGroupID: "lee"}
	in[1].IdempotencyKey = "key-1"
	require.NoError(t, s.Put(context.Background(), in...))
	msgs := fake.Messages()
	require.Equal(t, "lee", msgs[0].GroupID)
	require.Equal(t, in[0].ID, msgs[0].DedupID)
	require.Equal(t, "key-1", msgs[1].GroupID)
	require.Equal(t, "CreateOrder", msgs[1].Attributes[sqs.AttributeType])

	big, err := storagefirst.NewEnvelope("x", []byte(`"`+strings.Repeat("a", 300<<10)+`"`))
	require.NoError(t, err)
	require.ErrorIs(t, s.Put(context.Background(), big), storagefirst.ErrTooLarge)
	s2, _ := newFakeSink(t, sqs.SinkConfig{QueueURL: "u", MaxMessageSize: sqs.MaxMessageSizeLimit})
	require.NoError(t, s2.Put(context.Background(), big))
}

func msg(id, body, arn, group string) events.SQSMessage {
	return events.SQSMessage{MessageId: id, Body: body, EventSourceARN: arn,
		Attributes: map[string]string{"MessageGroupId": group, "ApproximateReceiveCount": "2", "SentTimestamp": "1764504000000"}}
}

func TestBatchHandlerFIFOStopsAtFirstFailure(t *testing.T) {
	t.Parallel()
	arn := "arn:aws:sqs:us-east-1:1:orders.fifo"
	var handled []string
	h := storagefirst.HandlerFunc(func(_ context.Context, env storagefirst.Envelope) error {
		handled = append(handled, env.ID)
		if env.ID == "m2" {
			return errors.New("boom")
		}
		return nil
	})
	ev := events.SQSEvent{Records: []events.SQSMessage{
		msg("m1", `{}`, arn, "a"), msg("m2", `{}`, arn, "a"), msg("m3", `{}`, arn, "b"), msg("m4", `{}`, arn, "a")}}
	resp, err := sqs.NewBatchHandler(h, sqs.BatchConfig{})(context.Background(), ev)
	require.NoError(t, err)
	require.Equal(t, []string{"m1", "m2"}, handled)
	require.Equal(t, []events.SQSBatchItemFailure{{ItemIdentifier: "m2"}, {ItemIdentifier: "m3"}, {ItemIdentifier: "m4"}}, resp.BatchItemFailures)

	handled = nil
	resp, err = sqs.NewBatchHandler(h, sqs.BatchConfig{SkipGroupOnError: true})(context.Background(), ev)
	require.NoError(t, err)
	require.Equal(t, []string{"m1", "m2", "m3"}, handled, "group b goes on")
	require.Equal(t, []events.SQSBatchItemFailure{{ItemIdentifier: "m2"}, {ItemIdentifier: "m4"}}, resp.BatchItemFailures)
}

func TestBatchHandlerAllFailedAndUndecodable(t *testing.T) {
	t.Parallel()
	arn := "arn:aws:sqs:us-east-1:1:orders"
	fail := storagefirst.HandlerFunc(func(context.Context, storagefirst.Envelope) error { return errors.New("down") })
	ev := events.SQSEvent{Records: []events.SQSMessage{msg("m1", `{}`, arn, ""), msg("m2", `not json`, arn, "")}}
	resp, err := sqs.NewBatchHandler(fail, sqs.BatchConfig{})(context.Background(), ev)
	var all *sqs.AllFailedError
	require.ErrorAs(t, err, &all)
	require.Equal(t, 2, all.Records)
	require.Len(t, resp.BatchItemFailures, 2)
	resp, err = sqs.NewBatchHandler(fail, sqs.BatchConfig{AllowAllFailed: true})(context.Background(), ev)
	require.NoError(t, err)
	require.Len(t, resp.BatchItemFailures, 2)

	ok := storagefirst.HandlerFunc(func(context.Context, storagefirst.Envelope) error { return nil })
	resp, err = sqs.NewBatchHandler(ok, sqs.BatchConfig{})(context.Background(), ev)
	require.NoError(t, err)
	require.Equal(t, []events.SQSBatchItemFailure{{ItemIdentifier: "m2"}}, resp.BatchItemFailures, "a body that is not JSON fails alone")
	_, err = sqs.NewBatchHandler(ok, sqs.BatchConfig{})(context.Background(), events.SQSEvent{Records: []events.SQSMessage{{Body: "{}"}}})
	require.Error(t, err, "an unreportable record fails the whole batch")
	resp, err = sqs.NewBatchHandler(ok, sqs.BatchConfig{})(context.Background(), events.SQSEvent{})
	require.NoError(t, err)
	require.Empty(t, resp.BatchItemFailures)
}

func TestEnvelopeFromMessageUnwrapsSNS(t *testing.T) {
	t.Parallel()
	body := `{"Type":"Notification","MessageId":"sns-1","TopicArn":"arn:aws:sns:us-east-1:1:orders","Subject":"CreateOrder",` +
		`"Message":"{\"username\":\"lee\"}","Timestamp":"2026-11-30T12:00:00.000Z"}`
	env, err := sqs.EnvelopeFromMessage(msg("sqs-1", body, "arn:aws:sqs:us-east-1:1:q", ""))
	require.NoError(t, err)
	require.Equal(t, "sns-1", env.ID)
	require.Equal(t, "CreateOrder", env.Type)
	require.Equal(t, "arn:aws:sns:us-east-1:1:orders", env.Source)
	require.JSONEq(t, `{"username":"lee"}`, string(env.Payload))
	require.Equal(t, 2, env.Attempt)

	// An envelope inside the SNS message comes back whole.
	inner := envs(t, 1)[0]
	b, _ := json.Marshal(inner)
	wrapped, _ := json.Marshal(map[string]string{"Type": "Notification", "MessageId": "sns-2", "Message": string(b)})
	env, err = sqs.EnvelopeFromMessage(msg("sqs-2", string(wrapped), "", ""))
	require.NoError(t, err)
	require.Equal(t, inner.ID, env.ID)

	// A raw message: its ID and sent time.
	env, err = sqs.EnvelopeFromMessage(msg("sqs-3", `{"username":"bob"}`, "arn:aws:sqs:us-east-1:1:q", ""))
	require.NoError(t, err)
	require.Equal(t, "sqs-3", env.ID)
	require.Equal(t, sqs.TypeDefault, env.Type)
	require.Equal(t, int64(1764504000000), env.AcceptedAt.UnixMilli())
}

func FuzzEnvelopeFromMessage(f *testing.F) {
	f.Add("m1", `{"username":"lee"}`)
	f.Add("m2", `{"Type":"Notification","MessageId":"s","Message":"{}"}`)
	f.Add("m3", `{"Type":"Notification","MessageId":"s","Message":"{\"id\":\"x\",\"type\":\"t\",\"accepted_at\":\"2026-01-01T00:00:00Z\"}"}`)
	f.Add("m4", `{"id":"x","type":"t","accepted_at":"2026-01-01T00:00:00Z","payload":[1]}`)
	f.Add("", "\x00")
	f.Fuzz(func(t *testing.T, id, body string) {
		env, err := sqs.EnvelopeFromMessage(events.SQSMessage{MessageId: id, Body: body})
		if err != nil {
			require.ErrorIs(t, err, storagefirst.ErrInvalidEnvelope)
			return
		}
		require.NoError(t, env.Validate())
	})
}

// TestSinkSharesRequestsUnderLoad measures requests per envelope with 64
// concurrent callers of one envelope each.
func TestSinkSharesRequestsUnderLoad(t *testing.T) {
	t.Parallel()
	s, fake := newFakeSink(t, sqs.SinkConfig{QueueURL: "https://sqs.us-east-1.amazonaws.com/1/orders"})
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				require.NoError(t, s.Put(context.Background(), envs(t, 1)...))
			}
		}()
	}
	wg.Wait()
	require.Len(t, fake.Messages(), 640)
	t.Logf("SQS: 640 envelopes from 64 concurrent callers in %d SendMessageBatch calls: %.3f requests per envelope",
		s.Requests(), float64(s.Requests())/640)
	require.Less(t, s.Requests(), int64(320))
}

// deadLetters is a dlq.Destination that keeps what it is sent.
type deadLetters struct {
	mu      sync.Mutex
	letters []storagefirst.DeadLetter
}

func (d *deadLetters) SendDeadLetter(_ context.Context, dl storagefirst.DeadLetter) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.letters = append(d.letters, dl)
	return nil
}

// TestBatchHandlerFIFODeadLettersAPoisonMessage: a body that is not JSON in the
// middle of a FIFO batch is dead-lettered with its bytes and the batch goes on.
func TestBatchHandlerFIFODeadLettersAPoisonMessage(t *testing.T) {
	t.Parallel()
	arn := "arn:aws:sqs:us-east-1:1:orders.fifo"
	dest := &deadLetters{}
	var handled []string
	deadLetter, err := dlq.Middleware(dlq.MiddlewareConfig{Destination: dest})
	require.NoError(t, err)
	chain := deadLetter(storagefirst.HandlerFunc(func(_ context.Context, env storagefirst.Envelope) error {
		handled = append(handled, env.ID)
		return nil
	}))
	poison := msg("m2", "\x1f\x8b not json", arn, "g")
	poison.Attributes["MessageDeduplicationId"] = "d-2"
	poison.MessageAttributes = map[string]events.SQSMessageAttribute{
		"traceparent": {DataType: "String", StringValue: aws.String("00-abc")},
		"blob":        {DataType: "Binary", BinaryValue: []byte{1, 2}},
	}
	ev := events.SQSEvent{Records: []events.SQSMessage{msg("m1", `{}`, arn, "g"), poison, msg("m3", `{}`, arn, "g")}}
	resp, err := sqs.NewBatchHandler(chain, sqs.BatchConfig{DeadLetters: dest})(context.Background(), ev)
	require.NoError(t, err)
	require.Empty(t, resp.BatchItemFailures)
	require.Equal(t, []string{"m1", "m3"}, handled)
	require.Len(t, dest.letters, 1)
	dl := dest.letters[0]
	require.Equal(t, dlq.TypeUndecodable, dl.Envelope.Type)
	require.Equal(t, "m2", dl.Envelope.ID)
	require.Equal(t, 2, dl.Envelope.Attempt)
	var p dlq.UndecodablePayload
	require.NoError(t, json.Unmarshal(dl.Envelope.Payload, &p))
	require.Equal(t, "\x1f\x8b not json", string(p.Data))
	require.Equal(t, sqs.OriginDefault, dl.LastFailure().Origin)

	require.Equal(t, "g", dl.Envelope.Metadata[dlq.MetaMessageGroupID])
	require.Equal(t, "d-2", dl.Envelope.Metadata[dlq.MetaDeduplicationID])
	require.Equal(t, "00-abc", dl.Envelope.Metadata[dlq.MetaAttributePrefix+"traceparent"])
	require.Equal(t, "AQI=", dl.Envelope.Metadata[dlq.MetaAttributePrefix+"blob"])
	require.False(t, dlq.Entry{Kind: dlq.KindStoragefirst, Envelope: dl.Envelope}.Replayable(), "replaying the stand-in fails again")

	// Without DeadLetters the stand-in goes through the chain, whose dlq
	// middleware dead-letters it without running the handler: the same letter.
	handled = nil
	resp, err = sqs.NewBatchHandler(chain, sqs.BatchConfig{})(context.Background(), ev)
	require.NoError(t, err)
	require.Empty(t, resp.BatchItemFailures)
	require.Equal(t, []string{"m1", "m3"}, handled)
	require.Len(t, dest.letters, 2)
	require.Equal(t, dl.Envelope, dest.letters[1].Envelope)
	require.Equal(t, dl.LastFailure().Error, dest.letters[1].LastFailure().Error)
	require.Equal(t, "permanent", dest.letters[1].LastFailure().Class)

	// A chain without the middleware: the poison message stops the FIFO batch,
	// as before, whatever the handler makes of the stand-in.
	handled = nil
	plain := storagefirst.HandlerFunc(func(_ context.Context, env storagefirst.Envelope) error {
		handled = append(handled, env.ID)
		return nil
	})
	resp, err = sqs.NewBatchHandler(plain, sqs.BatchConfig{})(context.Background(), ev)
	require.NoError(t, err)
	require.Len(t, resp.BatchItemFailures, 2)
	require.Equal(t, []string{"m1", "m2"}, handled)
}

// TestSinkAttributesCarryTheEnvelope: the sink's attributes (within SQS's 10)
// carry the envelope's identity and metadata, and EnvelopeFromMessage restores
// them when the body is a raw payload, whatever the message ID (SQS gives a
// message moved back from a dead-letter queue a new one).
func TestSinkAttributesCarryTheEnvelope(t *testing.T) {
	t.Parallel()
	s, fake := newFakeSink(t, sqs.SinkConfig{QueueURL: "https://sqs.us-east-1.amazonaws.com/1/orders"})
	env := envs(t, 1)[0]
	env.IdempotencyKey, env.Source = "key-1", "/orders"
	env.Metadata = map[string]string{"traceparent": "00-abc", "tenant": "lee", "a": "1", "b": "2", "c": "3", "d": "4", "e": "5", "f": "6", "g": "7", "h": "8"}
	require.NoError(t, s.Put(context.Background(), env))
	msgs := fake.Messages()
	require.Len(t, msgs, 1)
	require.LessOrEqual(t, len(msgs[0].Attributes), 10)
	require.Equal(t, "key-1", msgs[0].Attributes[sqs.AttributeKey])

	// The body as sent: the envelope.
	m := events.SQSMessage{MessageId: msgs[0].MessageID, Body: msgs[0].Body, MessageAttributes: map[string]events.SQSMessageAttribute{}}
	for k, v := range msgs[0].Attributes {
		m.MessageAttributes[k] = events.SQSMessageAttribute{DataType: "String", StringValue: aws.String(v)}
	}
	got, err := sqs.EnvelopeFromMessage(m)
	require.NoError(t, err)
	require.Equal(t, env, got)

	// A raw payload with the same attributes under a new message ID: the same
	// envelope.
	m.MessageId, m.Body = "a-new-message-id", string(env.Payload)
	got, err = sqs.EnvelopeFromMessage(m)
	require.NoError(t, err)
	require.Equal(t, env, got)

	// A foreign raw message without them gets its message ID.
	got, err = sqs.EnvelopeFromMessage(events.SQSMessage{MessageId: "foreign-1", Body: `{"a":1}`})
	require.NoError(t, err)
	require.Equal(t, "foreign-1", got.ID)
	require.Equal(t, sqs.TypeDefault, got.Type)
}

// TestSinkIsolatesAMessageTheServiceRefuses: SQS refuses a whole batch
// (BatchRequestTooLong: the queue's limit is lower than the sink's); only the
// message at fault fails, permanently.
func TestSinkIsolatesAMessageTheServiceRefuses(t *testing.T) {
	t.Parallel()
	s, fake := newFakeSink(t, sqs.SinkConfig{QueueURL: "https://sqs.us-east-1.amazonaws.com/1/orders"})
	fake.SetLimits(awsfake.Limits{SQSMessageBytes: 64 << 10, SQSBatchBytes: 64 << 10, SQSMaxAttributes: 10})
	in := envs(t, 6)
	big, err := storagefirst.NewEnvelope("CreateOrder", []byte(`{"note":"`+strings.Repeat("a", 100<<10)+`"}`))
	require.NoError(t, err)
	in = append(in[:2], append([]storagefirst.Envelope{big}, in[2:]...)...)
	err = s.Put(context.Background(), in...)
	var pe *storagefirst.PutError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, []string{big.ID}, pe.FailedIDs())
	require.True(t, storagefirst.IsPermanent(pe.Failed[0].Err))
	require.ErrorContains(t, err, "BatchRequestTooLong")
	require.Len(t, fake.Messages(), 6)
}
