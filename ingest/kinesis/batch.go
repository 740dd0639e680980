package kinesis

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// TypeDefault is the envelope type of a raw record.
const TypeDefault = "kinesis.record"

// EnvelopeFromRecord returns the envelope a Kinesis record carries: the one Sink
// wrote, or the raw data with the record's event ID ("shardId-…:sequence") as the
// envelope ID. Data that is not JSON is an error wrapping
// storagefirst.ErrInvalidEnvelope.
func EnvelopeFromRecord(r events.KinesisEventRecord) (storagefirst.Envelope, error) {
	if env, ok := storagefirst.ParseEnvelope(r.Kinesis.Data); ok {
		return env, nil
	}
	id := r.EventID
	if id == "" {
		id = r.Kinesis.SequenceNumber
	}
	if id == "" || !json.Valid(r.Kinesis.Data) {
		return storagefirst.Envelope{}, fmt.Errorf("%w: record %q has no ID or data that is not JSON", storagefirst.ErrInvalidEnvelope, r.Kinesis.SequenceNumber)
	}
	env := storagefirst.Envelope{ID: id, Type: TypeDefault, Source: r.EventSourceArn,
		AcceptedAt: r.Kinesis.ApproximateArrivalTimestamp.Time, Payload: r.Kinesis.Data}
	if err := env.Normalize(); err != nil {
		return storagefirst.Envelope{}, err
	}
	return env, env.Validate()
}

// NewBatchHandler returns a Lambda handler for a Kinesis event source with
// ReportBatchItemFailures. It runs h on the records in order and stops at the first
// failure, reporting its sequence number: Lambda then checkpoints before it and
// delivers it and every later record of the shard again, so order is kept. (Pair
// the event source with a maximum retry count and an on-failure destination, or put
// the dlq middleware in h's chain, so that a poison record cannot hold the shard.)
func NewBatchHandler(h storagefirst.Handler) func(ctx context.Context, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
	return func(ctx context.Context, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
		resp := events.KinesisEventResponse{BatchItemFailures: []events.KinesisBatchItemFailure{}}
		for _, r := range ev.Records {
			env, err := EnvelopeFromRecord(r)
			if err != nil {
				err = storagefirst.Permanent(err)
			} else {
				err = h.Handle(ctx, env)
			}
			if err != nil {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.KinesisBatchItemFailure{ItemIdentifier: r.Kinesis.SequenceNumber})
				return resp, nil
			}
		}
		return resp, nil
	}
}
