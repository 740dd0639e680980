package kinesis

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/storagefirst/storagefirst-go/dlq"
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

// BatchConfig configures NewBatchHandler. The zero value is the default.
type BatchConfig struct {
	// DeadLetters, when set, receives the records that hold no envelope (data that
	// is not JSON, such as gzip bytes) as dlq.TypeUndecodable dead letters, and the
	// batch moves on past them. Without it such a record's stand-in goes through h
	// (dlq.HandleUndecodable): the dlq.Middleware in h's chain dead-letters it the
	// same way; a chain without one fails it permanently and, as any failure, that
	// stops the batch: Lambda delivers it again until the event source's maximum
	// retry count or record age gives up on it.
	DeadLetters dlq.Destination
	// Origin is recorded on those dead letters (a function name). Default
	// OriginDefault.
	Origin string
}

// OriginDefault is the origin recorded on the dead letter of an undecodable record.
const OriginDefault = "kinesis: undecodable record"

// NewBatchHandler returns a Lambda handler for a Kinesis event source with
// ReportBatchItemFailures. It runs h on the records in order and stops at the first
// failure, reporting its sequence number: Lambda then checkpoints before it and
// delivers it and every later record of the shard again, so order is kept. Put the
// dlq middleware in h's chain, and give BatchConfig.DeadLetters its Destination,
// so that no poison record can hold the shard: the middleware dead-letters records
// h fails for good, DeadLetters those that hold no envelope.
func NewBatchHandler(h storagefirst.Handler, cfg BatchConfig) func(ctx context.Context, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
	if cfg.Origin == "" {
		cfg.Origin = OriginDefault
	}
	return func(ctx context.Context, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
		resp := events.KinesisEventResponse{BatchItemFailures: []events.KinesisBatchItemFailure{}}
		for _, r := range ev.Records {
			env, err := EnvelopeFromRecord(r)
			switch {
			case err != nil && cfg.DeadLetters != nil:
				err = dlq.SendUndecodable(ctx, cfg.DeadLetters, rawRecord(r), err, cfg.Origin)
			case err != nil:
				err = dlq.HandleUndecodable(ctx, h, rawRecord(r), err)
			default:
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

// rawRecord is r as a record that holds no envelope, with what locates it in its
// stream: partition key, sequence number and shard.
func rawRecord(r events.KinesisEventRecord) dlq.Raw {
	id := r.EventID
	if id == "" {
		id = r.Kinesis.SequenceNumber
	}
	md := map[string]string{dlq.MetaPartitionKey: r.Kinesis.PartitionKey, dlq.MetaSequenceNumber: r.Kinesis.SequenceNumber}
	// Lambda's event ID is "shardId-000000000000:<sequence number>".
	if shard, _, ok := strings.Cut(r.EventID, ":"); ok && strings.HasPrefix(shard, "shardId-") {
		md[dlq.MetaShardID] = shard
	}
	return dlq.Raw{ID: id, Source: r.EventSourceArn, Data: r.Kinesis.Data,
		ReceivedAt: r.Kinesis.ApproximateArrivalTimestamp.Time, Metadata: md}
}
