package dlq

import (
	"time"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// Kind says what wrote a dead letter.
type Kind string

const (
	// KindStoragefirst: a Destination of this module (dlq/sqs.Destination) or a store's
	// own dead letters (pgstore, MemoryQueue).
	KindStoragefirst Kind = "storagefirst"
	// KindLambdaDestination: a Lambda asynchronous invocation's on-failure record.
	KindLambdaDestination Kind = "lambda-destination"
	// KindLambdaStreamBatch: the on-failure record of a Kinesis or DynamoDB stream
	// event source mapping: where the failed batch is (Entry.Stream), not its
	// records. Not Replayable: read the records from the stream.
	KindLambdaStreamBatch Kind = "lambda-stream-batch"
	// KindEventBridgeTarget: an EventBridge rule target's dead-letter message.
	KindEventBridgeTarget Kind = "eventbridge-target"
	// KindStepFunctionsCatch: a Step Functions Catch output ({Error, Cause}).
	KindStepFunctionsCatch Kind = "stepfunctions-catch"
	// KindSQSRedrive: a message an SQS redrive policy moved after maxReceiveCount.
	KindSQSRedrive Kind = "sqs-redrive"
	// KindUnknown: a shape none of the above; kept verbatim.
	KindUnknown Kind = "unknown"
)

// TypeUnknown is the envelope type given to dead letters of unknown shape.
const TypeUnknown = "dlq.unknown"

// Entry is one dead letter read back from a Source, normalised: the original
// envelope and its failure history, whatever wrote it.
type Entry struct {
	Kind     Kind
	Envelope storagefirst.Envelope
	// Failures, oldest first; the last is why it was dead-lettered.
	Failures []storagefirst.Failure
	// DeadAt is when it was dead-lettered, where known.
	DeadAt time.Time
	// Raw is the message as it was read (an SQS body), kept for unknown shapes.
	Raw []byte
	// Attributes are the message's attributes (SQS message and system attributes).
	Attributes map[string]string
	// Handle is what the Source needs to delete it (a receipt handle, an ID).
	Handle string
	// MessageID is the SQS message ID, where there is one.
	MessageID string
	// Stream locates the failed batch of a KindLambdaStreamBatch entry.
	Stream *StreamBatch
}

// LastFailure returns the failure that dead-lettered the envelope.
func (e Entry) LastFailure() storagefirst.Failure {
	if len(e.Failures) == 0 {
		return storagefirst.Failure{}
	}
	return e.Failures[len(e.Failures)-1]
}

// FirstFailure returns the first recorded failure.
func (e Entry) FirstFailure() storagefirst.Failure {
	if len(e.Failures) == 0 {
		return storagefirst.Failure{}
	}
	return e.Failures[0]
}

// Replayable reports whether Replay can put the entry back: every kind but
// unknown and a stream batch record (it holds no records), and no TypeUndecodable stand-in (its bytes were never an envelope, so
// putting it back fails again).
func (e Entry) Replayable() bool {
	return e.Kind != KindUnknown && e.Kind != KindLambdaStreamBatch && e.Envelope.Type != TypeUndecodable
}
