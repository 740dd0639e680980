package sqs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/storagefirst/storagefirst-go/dlq"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// TypeDefault is the envelope type of a raw message without a storagefirst-type
// attribute; TypeSNSDefault that of an SNS notification.
const (
	TypeDefault    = "sqs.message"
	TypeSNSDefault = "sns.notification"
)

// snsNotification is the JSON body SNS writes into SQS (raw delivery off).
type snsNotification struct {
	Type      string
	MessageId string
	TopicArn  string
	Subject   string
	Message   string
	Timestamp time.Time
}

// EnvelopeFromMessage returns the envelope an SQS message carries: one written by
// Sink; the unwrapped message of an SNS notification (envelope or raw, with the SNS
// message ID as the raw envelope's ID); or the raw body, with the message ID as the
// envelope ID. Attempt is the message's ApproximateReceiveCount. A body (or SNS
// message) that is not JSON is an error wrapping storagefirst.ErrInvalidEnvelope.
func EnvelopeFromMessage(m events.SQSMessage) (storagefirst.Envelope, error) {
	attempt, _ := strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
	body := []byte(m.Body)
	if env, ok := storagefirst.ParseEnvelope(body); ok {
		env.Attempt = attempt
		return env, nil
	}
	var env storagefirst.Envelope
	var sns snsNotification
	if json.Unmarshal(body, &sns) == nil && sns.Type == "Notification" && sns.MessageId != "" {
		if inner, ok := storagefirst.ParseEnvelope([]byte(sns.Message)); ok {
			inner.Attempt = attempt
			return inner, nil
		}
		env = storagefirst.Envelope{ID: sns.MessageId, Type: TypeSNSDefault, Source: sns.TopicArn, AcceptedAt: sns.Timestamp, Payload: []byte(sns.Message)}
		if sns.Subject != "" {
			env.Type = sns.Subject
		}
	} else {
		env = storagefirst.Envelope{ID: m.MessageId, Type: TypeDefault, Source: m.EventSourceARN, Payload: body}
		if a, ok := m.MessageAttributes[AttributeType]; ok && a.StringValue != nil && *a.StringValue != "" {
			env.Type = *a.StringValue
		}
		if ms, err := strconv.ParseInt(m.Attributes["SentTimestamp"], 10, 64); err == nil {
			env.AcceptedAt = time.UnixMilli(ms)
		}
	}
	env.Attempt = attempt
	if !json.Valid(env.Payload) {
		return storagefirst.Envelope{}, fmt.Errorf("%w: message %s: the body is not JSON", storagefirst.ErrInvalidEnvelope, m.MessageId)
	}
	if err := env.Normalize(); err != nil {
		return storagefirst.Envelope{}, err
	}
	return env, env.Validate()
}

// BatchConfig configures NewBatchHandler. The zero value is the default.
type BatchConfig struct {
	// SkipGroupOnError, on FIFO queues, fails only the later records of a failed
	// record's message group and goes on with the other groups. By default a failure
	// fails every later record of the batch, which keeps the queue's order whole.
	SkipGroupOnError bool
	// AllowAllFailed answers a batch whose records all failed with the partial
	// response listing them all. By default such a batch is an error
	// (*AllFailedError), which Lambda treats the same way but makes the case loud.
	AllowAllFailed bool
	// DeadLetters, when set, receives the messages that hold no envelope (a body
	// that is not JSON) as dlq.TypeUndecodable dead letters, and they count as
	// handled, so a FIFO batch moves on past them. Without it such a message fails
	// (permanently) until the queue's redrive policy moves it to the dead-letter
	// queue, holding its FIFO group meanwhile. Use the Destination of the
	// dlq.Middleware in h's chain.
	DeadLetters dlq.Destination
	// Origin is recorded on those dead letters. Default OriginDefault.
	Origin string
}

// OriginDefault is the origin recorded on the dead letter of an undecodable message.
const OriginDefault = "sqs: undecodable message"

// AllFailedError is returned when every record of a batch failed.
type AllFailedError struct {
	Records int
	// First is the first record's error.
	First error
}

// Error says how many records failed and the first error.
func (e *AllFailedError) Error() string {
	return fmt.Sprintf("sqs: all %d records of the batch failed; first: %v", e.Records, e.First)
}

// Unwrap returns the first record's error.
func (e *AllFailedError) Unwrap() error { return e.First }

// NewBatchHandler returns a Lambda handler for an SQS event source with
// ReportBatchItemFailures: it runs h on each record's envelope, in order, and
// reports the message IDs of the records that failed (or could not be decoded) so
// that only they are delivered again; after maxReceiveCount deliveries SQS moves
// them to the queue's dead-letter queue. FIFO queues (an event source ARN ending in
// ".fifo") stop at the first failure, as their order requires.
func NewBatchHandler(h storagefirst.Handler, cfg BatchConfig) func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
		for _, m := range ev.Records {
			if m.MessageId == "" { // it could not be reported: fail the whole batch
				return resp, errors.New("sqs: a record without a message ID; failing the whole batch")
			}
		}
		var first error
		failedGroups := map[string]bool{}
		stopAll := false
		for _, m := range ev.Records {
			fifo := strings.HasSuffix(m.EventSourceARN, ".fifo")
			group := m.Attributes["MessageGroupId"]
			if stopAll || (fifo && failedGroups[group]) {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
				continue
			}
			err := handleMessage(ctx, h, cfg, m)
			if err == nil {
				continue
			}
			if first == nil {
				first = err
			}
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			if fifo {
				if cfg.SkipGroupOnError {
					failedGroups[group] = true
				} else {
					stopAll = true
				}
			}
		}
		if n := len(ev.Records); n > 0 && len(resp.BatchItemFailures) == n && !cfg.AllowAllFailed {
			return resp, &AllFailedError{Records: n, First: first}
		}
		return resp, nil
	}
}

func handleMessage(ctx context.Context, h storagefirst.Handler, cfg BatchConfig, m events.SQSMessage) error {
	env, err := EnvelopeFromMessage(m)
	switch {
	case err != nil && cfg.DeadLetters != nil:
		origin := cfg.Origin
		if origin == "" {
			origin = OriginDefault
		}
		attempt, _ := strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
		raw := dlq.Raw{ID: m.MessageId, Source: m.EventSourceARN, Data: []byte(m.Body), Attempt: attempt}
		if ms, perr := strconv.ParseInt(m.Attributes["SentTimestamp"], 10, 64); perr == nil {
			raw.ReceivedAt = time.UnixMilli(ms)
		}
		return dlq.SendUndecodable(ctx, cfg.DeadLetters, raw, err, origin)
	case err != nil:
		return storagefirst.Permanent(err)
	}
	return h.Handle(ctx, env)
}
