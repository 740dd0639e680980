package sqs

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/storagefirst/storagefirst-go/dlq"
	"github.com/storagefirst/storagefirst-go/internal/awsenv"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// TypeDefault is the envelope type of a raw message without a storagefirst-type
// attribute; TypeSNSDefault that of an SNS notification.
const (
	TypeDefault    = awsenv.TypeSQSDefault
	TypeSNSDefault = awsenv.TypeSNSDefault
)

// EnvelopeFromMessage returns the envelope an SQS message carries: one written by
// Sink; the unwrapped message of an SNS notification (envelope or raw, with the SNS
// message ID as the raw envelope's ID); the envelope of an EventBridge event (an
// SQS rule target: the envelope in its detail, or the detail under the event id);
// or the raw body, whose identity comes from the storagefirst-* attributes
// (AttributeID, AttributeKey, ...) when the producer set them and otherwise from
// the message: its message ID as the envelope ID. SQS gives a message a new
// message ID when it is moved back from a dead-letter queue, so a raw message
// without AttributeID gets a new identity on a redrive. Attempt is the message's
// ApproximateReceiveCount. A body (or SNS message) that is not JSON is an error
// wrapping storagefirst.ErrInvalidEnvelope. dlq.Decode reads redriven messages
// the same way.
func EnvelopeFromMessage(m events.SQSMessage) (storagefirst.Envelope, error) {
	attrs := make(map[string]string, len(m.MessageAttributes))
	for k, a := range m.MessageAttributes {
		if a.StringValue != nil {
			attrs[k] = *a.StringValue
		}
	}
	env, err := awsenv.FromSQS(awsenv.SQSMessage{MessageID: m.MessageId, Body: m.Body, SourceARN: m.EventSourceARN,
		SentTimestamp: m.Attributes["SentTimestamp"], Attributes: attrs})
	if err != nil {
		return storagefirst.Envelope{}, err
	}
	env.Attempt, _ = strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
	return env, nil
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
	// handled, so a FIFO batch moves on past them. Without it such a message's
	// stand-in goes through h (dlq.HandleUndecodable): the dlq.Middleware in h's
	// chain dead-letters it the same way; a chain without one fails it
	// permanently until the queue's redrive policy moves it to the dead-letter
	// queue, holding its FIFO group meanwhile.
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
	if cfg.Origin == "" {
		cfg.Origin = OriginDefault
	}
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
		return dlq.SendUndecodable(ctx, cfg.DeadLetters, rawMessage(m), err, cfg.Origin)
	case err != nil:
		return dlq.HandleUndecodable(ctx, h, rawMessage(m), err)
	}
	return h.Handle(ctx, env)
}

// rawMessage is m as a message that holds no envelope, with what a resend needs:
// its message attributes and, on a FIFO queue, its group and deduplication IDs.
func rawMessage(m events.SQSMessage) dlq.Raw {
	attempt, _ := strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
	raw := dlq.Raw{ID: m.MessageId, Source: m.EventSourceARN, Data: []byte(m.Body), Attempt: attempt, Metadata: map[string]string{}}
	if ms, perr := strconv.ParseInt(m.Attributes["SentTimestamp"], 10, 64); perr == nil {
		raw.ReceivedAt = time.UnixMilli(ms)
	}
	if v := m.Attributes["MessageGroupId"]; v != "" {
		raw.Metadata[dlq.MetaMessageGroupID] = v
	}
	if v := m.Attributes["MessageDeduplicationId"]; v != "" {
		raw.Metadata[dlq.MetaDeduplicationID] = v
	}
	for name, a := range m.MessageAttributes {
		switch {
		case a.StringValue != nil:
			raw.Metadata[dlq.MetaAttributePrefix+name] = *a.StringValue
		case a.BinaryValue != nil:
			raw.Metadata[dlq.MetaAttributePrefix+name] = base64.StdEncoding.EncodeToString(a.BinaryValue)
		}
	}
	return raw
}
