// Package awsenv turns what AWS delivers (an SQS message, with or without an SNS
// notification or an EventBridge event inside) into the envelope it stands for.
// It is the one decoder that ingest/sqs and ingest/eventbridge give handlers and
// dlq.Decode reads redriven messages with, so that a message has the same ID and payload whichever
// path reads it, and a replay hits the same idempotency key.
package awsenv

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// Message attributes that carry an envelope's identity and metadata next to a
// message body (ingest/sqs.Sink sets them; any producer may).
const (
	AttrID            = "storagefirst-id"
	AttrType          = "storagefirst-type"
	AttrCorrelationID = "storagefirst-correlation-id"
	AttrKey           = "storagefirst-key"
	AttrSource        = "storagefirst-source"
	AttrAcceptedAt    = "storagefirst-accepted-at"
	// AttrMetadata holds the envelope's metadata as one JSON object, so that any
	// number of entries fits in SQS's 10 attributes.
	AttrMetadata = "storagefirst-metadata"
)

// Envelope types of raw messages.
const (
	TypeSQSDefault         = "sqs.message"
	TypeSNSDefault         = "sns.notification"
	TypeEventBridgeDefault = "eventbridge.event"
)

// SQSMessage is what FromSQS reads of an SQS message.
type SQSMessage struct {
	MessageID string
	Body      string
	// SourceARN is the queue the message was sent to (the event source ARN, or a
	// dead letter's DeadLetterQueueSourceArn).
	SourceARN string
	// SentTimestamp is the SentTimestamp system attribute (epoch milliseconds).
	SentTimestamp string
	// Attributes are the message attributes' string values.
	Attributes map[string]string
}

// snsNotification is the JSON body SNS writes into SQS (raw delivery off).
type snsNotification struct {
	Type              string
	MessageId         string
	TopicArn          string
	Subject           string
	Message           string
	Timestamp         time.Time
	MessageAttributes map[string]struct{ Type, Value string }
}

// FromSQS returns the envelope m carries:
//   - a body that is an envelope (ingest/sqs.Sink's messages) is that envelope;
//   - an SNS notification (raw delivery off) yields its message: an envelope, or
//     the raw message under the SNS message ID (or its storagefirst-id attribute),
//     typed by its subject;
//   - an EventBridge event (a rule with an SQS target) yields what FromEventBridge
//     does: the envelope in its detail, or the detail under the event id;
//   - any other JSON body is the payload of an envelope whose identity comes from
//     the storagefirst-* attributes when present and otherwise from the message:
//     the message ID as ID (note that SQS gives a message moved back from a
//     dead-letter queue a new message ID), the queue as source, SentTimestamp as
//     accepted-at.
//
// A body (or SNS message) that is not JSON is an error wrapping
// storagefirst.ErrInvalidEnvelope.
func FromSQS(m SQSMessage) (storagefirst.Envelope, error) {
	body := []byte(m.Body)
	if env, ok := storagefirst.ParseEnvelope(body); ok {
		return env, nil
	}
	var env storagefirst.Envelope
	var sns snsNotification
	switch {
	case json.Unmarshal(body, &sns) == nil && sns.Type == "Notification" && sns.MessageId != "":
		if inner, ok := storagefirst.ParseEnvelope([]byte(sns.Message)); ok {
			return inner, nil
		}
		attrs := map[string]string{}
		for k, v := range sns.MessageAttributes {
			if v.Type == "String" {
				attrs[k] = v.Value
			}
		}
		env = storagefirst.Envelope{ID: sns.MessageId, Type: TypeSNSDefault, Source: sns.TopicArn, AcceptedAt: sns.Timestamp, Payload: []byte(sns.Message)}
		if sns.Subject != "" {
			env.Type = sns.Subject
		}
		applyAttributes(&env, attrs)
	default:
		if ev, ok := ParseEventBridgeEvent(body); ok {
			return FromEventBridge(ev)
		}
		env = storagefirst.Envelope{ID: m.MessageID, Type: TypeSQSDefault, Source: m.SourceARN, Payload: body}
		if ms, err := strconv.ParseInt(m.SentTimestamp, 10, 64); err == nil {
			env.AcceptedAt = time.UnixMilli(ms)
		}
		applyAttributes(&env, m.Attributes)
	}
	if !json.Valid(env.Payload) {
		return storagefirst.Envelope{}, fmt.Errorf("%w: message %s: the body is not JSON", storagefirst.ErrInvalidEnvelope, m.MessageID)
	}
	if err := env.Normalize(); err != nil {
		return storagefirst.Envelope{}, err
	}
	return env, env.Validate()
}

// applyAttributes overrides env's identity and metadata with the storagefirst-*
// attributes present in attrs.
func applyAttributes(env *storagefirst.Envelope, attrs map[string]string) {
	set := func(dst *string, name string) {
		if v := attrs[name]; v != "" {
			*dst = v
		}
	}
	set(&env.ID, AttrID)
	set(&env.Type, AttrType)
	set(&env.Source, AttrSource)
	set(&env.CorrelationID, AttrCorrelationID)
	set(&env.IdempotencyKey, AttrKey)
	if t, err := time.Parse(time.RFC3339Nano, attrs[AttrAcceptedAt]); err == nil {
		env.AcceptedAt = t
	}
	if md := attrs[AttrMetadata]; md != "" {
		var m map[string]string
		if json.Unmarshal([]byte(md), &m) == nil && len(m) > 0 {
			env.Metadata = m
		}
	}
}

// EventBridgeEvent is an event as EventBridge delivers it to a target.
type EventBridgeEvent struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       time.Time       `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// ParseEventBridgeEvent reads data as an EventBridge event; ok is false unless it
// has an id, a detail-type, a source and a detail.
func ParseEventBridgeEvent(data []byte) (EventBridgeEvent, bool) {
	var ev EventBridgeEvent
	if json.Unmarshal(data, &ev) != nil || ev.ID == "" || ev.DetailType == "" || ev.Source == "" || len(ev.Detail) == 0 {
		return EventBridgeEvent{}, false
	}
	return ev, true
}

// FromEventBridge returns the envelope an event carries: the envelope the
// eventbridge sink wrote when the detail is one, otherwise a new envelope around
// the raw detail with the event's id as its ID (so a redelivery keeps its
// identity), its detail-type as type (TypeEventBridgeDefault when empty), source
// as source and time as accepted-at. A detail that is not JSON, or an event
// without an id, is an error wrapping storagefirst.ErrInvalidEnvelope.
func FromEventBridge(ev EventBridgeEvent) (storagefirst.Envelope, error) {
	if env, ok := storagefirst.ParseEnvelope(ev.Detail); ok {
		return env, nil
	}
	if ev.ID == "" || !json.Valid(ev.Detail) {
		return storagefirst.Envelope{}, fmt.Errorf("%w: event %q has no id or a detail that is not JSON", storagefirst.ErrInvalidEnvelope, ev.ID)
	}
	env := storagefirst.Envelope{ID: ev.ID, Type: ev.DetailType, Source: ev.Source, AcceptedAt: ev.Time, Payload: ev.Detail}
	if env.Type == "" {
		env.Type = TypeEventBridgeDefault
	}
	if err := env.Normalize(); err != nil {
		return storagefirst.Envelope{}, err
	}
	return env, env.Validate()
}
