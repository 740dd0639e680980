package sqs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/storagefirst/storagefirst-go/internal/awsenv"
	"github.com/storagefirst/storagefirst-go/internal/awsput"
	"github.com/storagefirst/storagefirst-go/internal/sqstext"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// Limits and defaults of SendMessageBatch and SinkConfig.
const (
	// MaxEntries is the most messages one SendMessageBatch takes.
	MaxEntries = 10
	// MaxMessageSizeDefault is the historical message (and batch) limit, 256 KiB.
	MaxMessageSizeDefault = 256 << 10
	// MaxMessageSizeLimit is the current largest message (and batch) size, 1 MiB.
	MaxMessageSizeLimit = 1 << 20
	// ConcurrencyDefault, MaxWaitDefault, RequestTimeoutDefault: as for EventBridge.
	ConcurrencyDefault    = awsput.ConcurrencyDefault
	MaxWaitDefault        = awsput.MaxWaitDefault
	RequestTimeoutDefault = awsput.RequestTimeoutDefault
	// MetadataGroupID, in an envelope's metadata, sets its FIFO message group.
	MetadataGroupID = "message-group-id"
)

// Message attributes the sink sets next to the envelope's JSON body (7 of SQS's
// 10 at most, each only when the envelope has the field): its identity and
// metadata, for consumers that read attributes (filters, inspection) and for
// EnvelopeFromMessage, which restores an envelope from them when the body is a
// raw payload written by another producer.
const (
	AttributeID            = awsenv.AttrID
	AttributeType          = awsenv.AttrType
	AttributeCorrelationID = awsenv.AttrCorrelationID
	// AttributeKey is the idempotency key (Envelope.IdempotencyKey).
	AttributeKey = awsenv.AttrKey
	// AttributeSource and AttributeAcceptedAt (RFC 3339) are the envelope's source
	// and acceptance time.
	AttributeSource     = awsenv.AttrSource
	AttributeAcceptedAt = awsenv.AttrAcceptedAt
	// AttributeMetadata holds all of Envelope.Metadata as one JSON object.
	AttributeMetadata = awsenv.AttrMetadata
)

// EntryRetryDefault resends messages that failed through no fault of the sender: 3
// times, from 50 ms, with full jitter.
var EntryRetryDefault = storagefirst.RetryPolicy{Interval: 50 * time.Millisecond, MaxRetries: 3, Jitter: storagefirst.JitterFull}

// SendMessageBatchAPI is the part of the SQS client the sink uses.
type SendMessageBatchAPI interface {
	SendMessageBatch(ctx context.Context, in *awssqs.SendMessageBatchInput, optFns ...func(*awssqs.Options)) (*awssqs.SendMessageBatchOutput, error)
}

// SinkConfig configures a Sink. QueueURL is required; every other zero field means
// its default.
type SinkConfig struct {
	QueueURL string
	// MessageGroupID picks a FIFO message group: default the envelope's
	// MetadataGroupID entry, else its idempotency key (Envelope.Key).
	MessageGroupID func(storagefirst.Envelope) string
	// MaxMessageSize is the limit in force: MaxMessageSizeDefault, up to
	// MaxMessageSizeLimit where the queue allows it.
	MaxMessageSize int
	Retry          *storagefirst.RetryPolicy
	Concurrency    int
	MaxWait        time.Duration
	RequestTimeout time.Duration
	Clock          storagefirst.Clock
}

// Sink is a storagefirst.Sink on SQS SendMessageBatch; it behaves as the
// EventBridge sink does: nil only when every message was accepted, failed entries
// that were not the sender's fault resent, a *storagefirst.PutError for the rest,
// and concurrent Puts sharing calls. Close it when done.
type Sink struct {
	cfg    SinkConfig
	fifo   bool
	sender *awsput.Sender[types.SendMessageBatchRequestEntry]
}

var _ storagefirst.Sink = (*Sink)(nil)

// NewSink returns a Sink on client. A queue URL ending in ".fifo" is a FIFO queue.
func NewSink(client SendMessageBatchAPI, cfg SinkConfig) (*Sink, error) {
	var errs []error
	if client == nil {
		errs = append(errs, errors.New("sqs: NewSink needs a client"))
	}
	if cfg.QueueURL == "" {
		errs = append(errs, errors.New("sqs: SinkConfig.QueueURL is required"))
	}
	if cfg.MaxMessageSize < 0 || cfg.MaxMessageSize > MaxMessageSizeLimit {
		errs = append(errs, fmt.Errorf("sqs: MaxMessageSize %d is outside 0..%d", cfg.MaxMessageSize, MaxMessageSizeLimit))
	}
	if cfg.Retry != nil {
		errs = append(errs, cfg.Retry.Validate())
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.MaxMessageSize == 0 {
		cfg.MaxMessageSize = MaxMessageSizeDefault
	}
	if cfg.MessageGroupID == nil {
		cfg.MessageGroupID = func(e storagefirst.Envelope) string {
			if g := e.Metadata[MetadataGroupID]; g != "" {
				return g
			}
			return e.Key()
		}
	}
	s := &Sink{cfg: cfg, fifo: strings.HasSuffix(cfg.QueueURL, ".fifo")}
	s.sender = awsput.New(awsput.Config{
		MaxEntries: MaxEntries, MaxRequestBytes: cfg.MaxMessageSize,
		Concurrency: cfg.Concurrency, MaxWait: cfg.MaxWait,
		RequestTimeout: cfg.RequestTimeout, Retry: cfg.Retry, DefaultRetry: EntryRetryDefault, Clock: cfg.Clock,
	}, func(ctx context.Context, entries []types.SendMessageBatchRequestEntry) ([]*awsput.EntryError, error) {
		// Entry IDs need only be unique within a request.
		for i := range entries {
			entries[i].Id = aws.String("m" + strconv.Itoa(i))
		}
		out, err := client.SendMessageBatch(ctx, &awssqs.SendMessageBatchInput{QueueUrl: aws.String(cfg.QueueURL), Entries: entries})
		if err != nil {
			return nil, err
		}
		res := make([]*awsput.EntryError, len(entries))
		answered := make([]bool, len(entries))
		for _, ok := range out.Successful {
			if i, err := strconv.Atoi(strings.TrimPrefix(aws.ToString(ok.Id), "m")); err == nil && i < len(entries) {
				answered[i] = true
			}
		}
		for _, f := range out.Failed {
			i, err := strconv.Atoi(strings.TrimPrefix(aws.ToString(f.Id), "m"))
			if err != nil || i >= len(entries) {
				continue
			}
			answered[i] = true
			res[i] = &awsput.EntryError{Code: aws.ToString(f.Code), Message: aws.ToString(f.Message), Retryable: !f.SenderFault}
		}
		for i, a := range answered {
			if !a { // neither successful nor failed: not stored as far as we know
				res[i] = &awsput.EntryError{Code: "NoAnswer", Message: "SQS did not report this entry", Retryable: true}
			}
		}
		return res, nil
	})
	return s, nil
}

// Close stops the sink's background batching.
func (s *Sink) Close() { s.sender.Close() }

// Requests returns the SendMessageBatch calls made so far.
func (s *Sink) Requests() int64 { return s.sender.Requests() }

// Put persists envs as messages; see Sink.
func (s *Sink) Put(ctx context.Context, envs ...storagefirst.Envelope) error {
	return s.sender.PutEnvelopes(ctx, envs, s.entry)
}

func (s *Sink) entry(env storagefirst.Envelope) (types.SendMessageBatchRequestEntry, int, error) {
	body, err := json.Marshal(env)
	if err != nil {
		return types.SendMessageBatchRequestEntry{}, 0, err
	}
	// Characters SQS refuses (U+FFFE, say) travel as JSON escapes.
	body = sqstext.EscapeJSON(body)
	attrs := map[string]types.MessageAttributeValue{}
	size := len(body)
	values := map[string]string{AttributeID: env.ID, AttributeType: env.Type, AttributeCorrelationID: env.CorrelationID,
		AttributeKey: env.IdempotencyKey, AttributeSource: env.Source}
	if !env.AcceptedAt.IsZero() {
		values[AttributeAcceptedAt] = env.AcceptedAt.UTC().Format(time.RFC3339Nano)
	}
	if len(env.Metadata) > 0 {
		md, err := json.Marshal(env.Metadata)
		if err != nil {
			return types.SendMessageBatchRequestEntry{}, 0, err
		}
		values[AttributeMetadata] = string(sqstext.EscapeJSON(md))
	}
	for name, v := range values {
		// An identity attribute SQS would refuse is left out: the body carries it.
		if v != "" && sqstext.Valid(v) {
			attrs[name] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
			size += len(name) + len("String") + len(v)
		}
	}
	if size > s.cfg.MaxMessageSize {
		return types.SendMessageBatchRequestEntry{}, 0, fmt.Errorf("%w: envelope %s is a %d-byte message, limit %d", storagefirst.ErrTooLarge, env.ID, size, s.cfg.MaxMessageSize)
	}
	entry := types.SendMessageBatchRequestEntry{MessageBody: aws.String(string(body)), MessageAttributes: attrs}
	if s.fifo {
		group := s.cfg.MessageGroupID(env)
		if group == "" || len(group) > 128 || len(env.ID) > 128 {
			return types.SendMessageBatchRequestEntry{}, 0, fmt.Errorf("%w: envelope %s: FIFO group and deduplication IDs must be 1 to 128 characters", storagefirst.ErrInvalidEnvelope, env.ID)
		}
		entry.MessageGroupId = aws.String(group)
		entry.MessageDeduplicationId = aws.String(env.ID)
	}
	return entry, size, nil
}
