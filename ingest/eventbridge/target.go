package eventbridge

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/events"

	"github.com/storagefirst/storagefirst-go/dlq"
	"github.com/storagefirst/storagefirst-go/internal/awsenv"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// EnvelopeFromEvent returns the envelope an event carries: the envelope written by
// Sink when the detail is one, otherwise a new envelope around the raw detail with
// the event's id as its ID (so a redelivery keeps its identity), its detail-type
// as type, source as source and time as accepted-at. A detail that is not JSON is
// an error wrapping storagefirst.ErrInvalidEnvelope. ingest/sqs and dlq.Decode
// read an event delivered through SQS the same way.
func EnvelopeFromEvent(ev events.EventBridgeEvent) (storagefirst.Envelope, error) {
	return awsenv.FromEventBridge(awsenv.EventBridgeEvent{Version: ev.Version, ID: ev.ID, DetailType: ev.DetailType,
		Source: ev.Source, Account: ev.AccountID, Time: ev.Time, Region: ev.Region, Resources: ev.Resources, Detail: ev.Detail})
}

// TargetConfig configures NewTargetWithConfig. The zero value is the default.
type TargetConfig struct {
	// DeadLetters, when set, receives the events that hold no envelope (no id, a
	// detail that is not JSON or not a valid envelope) as dlq.TypeUndecodable dead
	// letters, and the invocation succeeds. Without it such an event's stand-in
	// goes through h (dlq.HandleUndecodable): the dlq.Middleware in h's chain
	// dead-letters it the same way; a chain without one fails it permanently, and
	// Lambda retries it before handing it to the on-failure destination.
	DeadLetters dlq.Destination
	// Origin is recorded on those dead letters. Default OriginDefault.
	Origin string
}

// OriginDefault is the origin recorded on the dead letter of an undecodable event.
const OriginDefault = "eventbridge: undecodable event"

// NewTarget returns a Lambda handler for an EventBridge rule target that runs h on
// the event's envelope. Its error goes back to Lambda, whose asynchronous
// invocation retries (up to 2 times by default) and then hands the event to the
// on-failure destination: put the dlq middleware in h's chain to dead-letter
// permanent failures at once. An event that holds no envelope is dead-lettered by
// that middleware as a dlq.TypeUndecodable stand-in, or is a permanent error when
// h has none (see TargetConfig.DeadLetters).
func NewTarget(h storagefirst.Handler) func(ctx context.Context, ev events.EventBridgeEvent) error {
	return NewTargetWithConfig(h, TargetConfig{})
}

// NewTargetWithConfig is NewTarget configured by cfg.
func NewTargetWithConfig(h storagefirst.Handler, cfg TargetConfig) func(ctx context.Context, ev events.EventBridgeEvent) error {
	if cfg.Origin == "" {
		cfg.Origin = OriginDefault
	}
	return func(ctx context.Context, ev events.EventBridgeEvent) error {
		env, err := EnvelopeFromEvent(ev)
		if err != nil {
			raw, merr := json.Marshal(ev)
			if merr != nil {
				raw = ev.Detail
			}
			r := dlq.Raw{ID: ev.ID, Source: ev.Source, Data: raw, ReceivedAt: ev.Time}
			if cfg.DeadLetters != nil {
				return dlq.SendUndecodable(ctx, cfg.DeadLetters, r, err, cfg.Origin)
			}
			return dlq.HandleUndecodable(ctx, h, r, err)
		}
		return h.Handle(ctx, env)
	}
}
