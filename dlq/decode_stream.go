package dlq

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// TypeStreamBatch is the envelope type of a KindLambdaStreamBatch entry: its
// payload is the StreamBatch, JSON-encoded.
const TypeStreamBatch = "lambda.stream-batch"

// StreamBatch locates the records of a failed batch of a Kinesis or DynamoDB
// stream event source: the on-failure record carries no records, only where they
// are (read them from the stream while its retention keeps them).
type StreamBatch struct {
	// Service is "kinesis" or "dynamodb".
	Service string `json:"service"`
	// StreamARN is the stream's ARN.
	StreamARN string `json:"streamArn"`
	// ShardID is the shard the batch came from.
	ShardID string `json:"shardId"`
	// StartSequenceNumber and EndSequenceNumber bound the batch, both included.
	StartSequenceNumber string `json:"startSequenceNumber"`
	EndSequenceNumber   string `json:"endSequenceNumber"`
	// FirstArrival and LastArrival are the approximate arrival times of the
	// batch's first and last records.
	FirstArrival time.Time `json:"approximateArrivalOfFirstRecord"`
	LastArrival  time.Time `json:"approximateArrivalOfLastRecord"`
	// BatchSize is the number of records in the batch.
	BatchSize int `json:"batchSize"`
}

// streamRecord is Lambda's on-failure record of a stream event source mapping.
type streamRecord struct {
	lambdaDestination
	Kinesis  *StreamBatch `json:"KinesisBatchInfo"`
	DynamoDB *StreamBatch `json:"DDBStreamBatchInfo"`
}

func isStreamBatchRecord(body []byte) bool {
	var probe struct {
		RequestContext *json.RawMessage `json:"requestContext"`
		Kinesis        *json.RawMessage `json:"KinesisBatchInfo"`
		DynamoDB       *json.RawMessage `json:"DDBStreamBatchInfo"`
	}
	return json.Unmarshal(body, &probe) == nil && probe.RequestContext != nil && (probe.Kinesis != nil || probe.DynamoDB != nil)
}

func decodeStreamBatch(e *Entry, body []byte, via string) error {
	var r streamRecord
	if err := json.Unmarshal(body, &r); err != nil {
		return err
	}
	var b2 StreamBatch
	switch {
	case r.Kinesis != nil:
		b2, b2.Service = *r.Kinesis, "kinesis"
	case r.DynamoDB != nil:
		b2, b2.Service = *r.DynamoDB, "dynamodb"
	}
	if r.RequestContext.RequestID == "" || b2.StreamARN == "" || b2.ShardID == "" {
		return errors.New("a stream batch record without a request ID, stream ARN or shard ID")
	}
	payload, err := json.Marshal(b2)
	if err != nil {
		return err
	}
	env := storagefirst.Envelope{ID: r.RequestContext.RequestID, Type: TypeStreamBatch, Source: b2.StreamARN,
		AcceptedAt: b2.FirstArrival, Payload: payload}
	if env.AcceptedAt.IsZero() {
		env.AcceptedAt = r.Timestamp
	}
	if env.Normalize() != nil || env.Validate() != nil {
		return errors.New("a stream batch record that makes no valid entry")
	}
	msg := fmt.Sprintf("%s: %d records of %s %s, sequence numbers %s to %s", r.RequestContext.Condition, b2.BatchSize,
		b2.StreamARN, b2.ShardID, b2.StartSequenceNumber, b2.EndSequenceNumber)
	if fe := r.ResponseContext.FunctionError; fe != "" {
		msg += " (function error: " + fe + ")"
	}
	if via != viaSQS {
		msg += " (delivered through " + via + ")"
	}
	e.Kind, e.Envelope, e.DeadAt, e.Stream = KindLambdaStreamBatch, env, r.Timestamp.UTC(), &b2
	e.Failures = []storagefirst.Failure{{Attempt: r.RequestContext.ApproximateInvokeCount, At: r.Timestamp.UTC(),
		Class: storagefirst.ClassRetryable.String(), Code: r.RequestContext.Condition, Error: msg, Origin: r.RequestContext.FunctionArn}}
	return nil
}
