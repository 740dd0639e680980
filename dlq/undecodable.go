package dlq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// TypeUndecodable is the type of the stand-in envelope under which a record that
// holds no envelope (data that is not JSON, say gzip bytes) is dead-lettered.
const TypeUndecodable = "storagefirst.undecodable"

// UndecodablePayload is the payload of a TypeUndecodable envelope: the record's
// bytes exactly as received (base64 in JSON).
type UndecodablePayload struct {
	Data []byte `json:"data"`
}

// Raw is a record an event source delivered that could not be decoded.
type Raw struct {
	// ID is the record's identity at its source (a Kinesis event ID, an SQS
	// message ID, an EventBridge event id); empty gets a new ID.
	ID string
	// Source is where it came from (an event source ARN).
	Source string
	// Data is the record's bytes as received.
	Data []byte
	// ReceivedAt is when the source accepted it; zero means now.
	ReceivedAt time.Time
	// Attempt is the delivery attempt, where the source counts it.
	Attempt int
}

// UndecodableLetter returns the dead letter of r: a TypeUndecodable envelope with
// r's ID, source and bytes, and one permanent failure recording cause.
func UndecodableLetter(r Raw, cause error, origin string, now time.Time) (storagefirst.DeadLetter, error) {
	payload, err := json.Marshal(UndecodablePayload{Data: r.Data})
	if err != nil {
		return storagefirst.DeadLetter{}, err
	}
	env, err := storagefirst.NewEnvelope(TypeUndecodable, payload)
	if err != nil {
		return storagefirst.DeadLetter{}, err
	}
	if r.ID != "" {
		env.ID = r.ID
	}
	env.Source, env.Attempt = r.Source, r.Attempt
	if !r.ReceivedAt.IsZero() {
		env.AcceptedAt = r.ReceivedAt.UTC()
	}
	if err := env.Validate(); err != nil {
		return storagefirst.DeadLetter{}, err
	}
	f := storagefirst.NewFailure(max(r.Attempt, 1), now, storagefirst.Permanent(cause))
	f.Origin = origin
	return storagefirst.DeadLetter{Envelope: env, Failures: []storagefirst.Failure{f}, DeadAt: now.UTC().Round(0)}, nil
}

// SendUndecodable dead-letters r to dest (see UndecodableLetter) so that the batch
// it came in can move on. It returns nil once the dead letter is durable; otherwise
// a retryable error joining cause and the write's error, so the source delivers r
// again and nothing is lost. The write is bounded as Middleware's is.
func SendUndecodable(ctx context.Context, dest Destination, r Raw, cause error, origin string) error {
	dl, err := UndecodableLetter(r, cause, origin, time.Now())
	if err == nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sendTimeout)
		defer cancel()
		err = dest.SendDeadLetter(sctx, dl)
	}
	if err != nil {
		return storagefirst.Retryable(errors.Join(cause, fmt.Errorf("dlq: dead letter of an undecodable record not stored: %w", err)))
	}
	return nil
}
