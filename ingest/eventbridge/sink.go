package eventbridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awseb "github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/storagefirst/storagefirst-go/internal/awsput"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// Limits and defaults of PutEvents and SinkConfig.
const (
	// MaxEntries is the most entries one PutEvents takes.
	MaxEntries = 10
	// MaxEntrySizeDefault is the historical entry size limit, 256 KB.
	MaxEntrySizeDefault = 256 * 1024
	// MaxEntrySizeLimit is the current largest entry size, 1 MB.
	MaxEntrySizeLimit = 1024 * 1024
	// MaxRequestSizeLimit is the largest total entry size of one PutEvents request.
	// AWS's "Calculating PutEvents event entry size" page bounds the total entry
	// size of a request by the event size limit (256 KB in its text written before
	// January 2026, when the event size limit rose to 1 MB).
	MaxRequestSizeLimit = MaxEntrySizeLimit
	// EventBusNameDefault is the account's default bus.
	EventBusNameDefault = "default"
	// ConcurrencyDefault bounds the PutEvents calls in flight.
	ConcurrencyDefault = awsput.ConcurrencyDefault
	// MaxWaitDefault is how long a forming batch waits for more callers under load.
	MaxWaitDefault = awsput.MaxWaitDefault
	// RequestTimeoutDefault bounds one PutEvents with its entry retries.
	RequestTimeoutDefault = awsput.RequestTimeoutDefault
)

// EntryRetryDefault resends entries that failed with a retryable code: 3 times,
// from 50 ms, with full jitter.
var EntryRetryDefault = storagefirst.RetryPolicy{Interval: 50 * time.Millisecond, MaxRetries: 3, Jitter: storagefirst.JitterFull}

// retryableCodes are the PutEvents entry error codes worth resending.
var retryableCodes = map[string]bool{"InternalFailure": true, "ThrottlingException": true}

// PutEventsAPI is the part of the EventBridge client the sink uses.
type PutEventsAPI interface {
	PutEvents(ctx context.Context, in *awseb.PutEventsInput, optFns ...func(*awseb.Options)) (*awseb.PutEventsOutput, error)
}

// SinkConfig configures a Sink; the zero value of each field means its default.
type SinkConfig struct {
	// EventBusName is the bus (name or ARN). Default EventBusNameDefault.
	EventBusName string
	// Source is used for envelopes without a source.
	Source string
	// MaxEntrySize is the entry limit in force: MaxEntrySizeDefault, up to
	// MaxEntrySizeLimit where the account has the larger limit.
	MaxEntrySize int
	// MaxRequestSize bounds the total entry size of one PutEvents request (entries
	// counted as for MaxEntrySize); requests are split to stay within it. Default:
	// the MaxEntrySize in force; at most MaxRequestSizeLimit, at least MaxEntrySize.
	MaxRequestSize int
	// RawDetail writes the payload as Detail instead of the whole envelope (the
	// payload must be a JSON object); consumers then see the event id as the ID.
	RawDetail bool
	// Retry resends failed retryable entries. Default EntryRetryDefault.
	Retry *storagefirst.RetryPolicy
	// Concurrency, MaxWait and RequestTimeout: see the defaults above.
	Concurrency    int
	MaxWait        time.Duration
	RequestTimeout time.Duration
	// Clock measures retry waits. Default storagefirst.SystemClock.
	Clock storagefirst.Clock
}

// Sink is a storagefirst.Sink on EventBridge PutEvents. Put returns nil only when
// every entry was accepted (FailedEntryCount 0 for them, after resending those that
// failed with InternalFailure or ThrottlingException); otherwise a
// *storagefirst.PutError names the envelopes not stored. Concurrent Puts share
// PutEvents calls, each within MaxEntries entries and MaxRequestSize bytes; an
// entry over MaxEntrySize is refused before sending, and a request EventBridge
// refuses whole with a validation error is split so that only the entry at fault
// fails (permanently); throttling and 5xx refusals fail their entries retryable.
// It is safe for concurrent use; Close it when done.
type Sink struct {
	cfg    SinkConfig
	sender *awsput.Sender[types.PutEventsRequestEntry]
}

var _ storagefirst.Sink = (*Sink)(nil)

// NewSink returns a Sink on client.
func NewSink(client PutEventsAPI, cfg SinkConfig) (*Sink, error) {
	var errs []error
	if client == nil {
		errs = append(errs, errors.New("eventbridge: NewSink needs a client"))
	}
	if cfg.MaxEntrySize < 0 || cfg.MaxEntrySize > MaxEntrySizeLimit {
		errs = append(errs, fmt.Errorf("eventbridge: MaxEntrySize %d is outside 0..%d", cfg.MaxEntrySize, MaxEntrySizeLimit))
	}
	if cfg.MaxEntrySize == 0 {
		cfg.MaxEntrySize = MaxEntrySizeDefault
	}
	if cfg.MaxRequestSize == 0 {
		cfg.MaxRequestSize = min(cfg.MaxEntrySize, MaxRequestSizeLimit)
	}
	if cfg.MaxRequestSize < cfg.MaxEntrySize || cfg.MaxRequestSize > MaxRequestSizeLimit {
		errs = append(errs, fmt.Errorf("eventbridge: MaxRequestSize %d is outside MaxEntrySize..%d", cfg.MaxRequestSize, MaxRequestSizeLimit))
	}
	if cfg.Retry != nil {
		errs = append(errs, cfg.Retry.Validate())
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.EventBusName == "" {
		cfg.EventBusName = EventBusNameDefault
	}
	s := &Sink{cfg: cfg}
	s.sender = awsput.New(awsput.Config{
		MaxEntries: MaxEntries, MaxRequestBytes: cfg.MaxRequestSize, Concurrency: cfg.Concurrency,
		MaxWait: cfg.MaxWait, RequestTimeout: cfg.RequestTimeout,
		Retry: cfg.Retry, DefaultRetry: EntryRetryDefault, Clock: cfg.Clock,
	}, func(ctx context.Context, entries []types.PutEventsRequestEntry) ([]*awsput.EntryError, error) {
		out, err := client.PutEvents(ctx, &awseb.PutEventsInput{Entries: entries})
		if err != nil {
			return nil, err
		}
		if len(out.Entries) != len(entries) {
			return nil, fmt.Errorf("eventbridge: %d results for %d entries", len(out.Entries), len(entries))
		}
		res := make([]*awsput.EntryError, len(entries))
		for i, e := range out.Entries {
			if code := aws.ToString(e.ErrorCode); code != "" {
				res[i] = &awsput.EntryError{Code: code, Message: aws.ToString(e.ErrorMessage), Retryable: retryableCodes[code]}
			}
		}
		return res, nil
	})
	return s, nil
}

// Close stops the sink's background batching.
func (s *Sink) Close() { s.sender.Close() }

// Requests returns the PutEvents calls made so far.
func (s *Sink) Requests() int64 { return s.sender.Requests() }

// Put persists envs as events; see Sink.
func (s *Sink) Put(ctx context.Context, envs ...storagefirst.Envelope) error {
	return s.sender.PutEnvelopes(ctx, envs, s.entry)
}

// entry builds the PutEvents entry of env and its size as EventBridge counts it:
// Source, DetailType, Detail and Resources in UTF-8 plus 14 bytes for Time.
func (s *Sink) entry(env storagefirst.Envelope) (types.PutEventsRequestEntry, int, error) {
	source := env.Source
	if source == "" {
		source = s.cfg.Source
	}
	if source == "" {
		return types.PutEventsRequestEntry{}, 0, fmt.Errorf("%w: envelope %s has no source and the sink none to give", storagefirst.ErrInvalidEnvelope, env.ID)
	}
	var detail []byte
	if s.cfg.RawDetail {
		if len(env.Payload) == 0 || env.Payload[0] != '{' {
			return types.PutEventsRequestEntry{}, 0, fmt.Errorf("%w: envelope %s: RawDetail needs a JSON object payload", storagefirst.ErrInvalidEnvelope, env.ID)
		}
		detail = env.Payload
	} else {
		b, err := json.Marshal(env)
		if err != nil {
			return types.PutEventsRequestEntry{}, 0, err
		}
		detail = b
	}
	size := len(source) + len(env.Type) + len(detail) + 14
	if size > s.cfg.MaxEntrySize {
		return types.PutEventsRequestEntry{}, 0, fmt.Errorf("%w: envelope %s is a %d-byte event, limit %d", storagefirst.ErrTooLarge, env.ID, size, s.cfg.MaxEntrySize)
	}
	return types.PutEventsRequestEntry{
		EventBusName: aws.String(s.cfg.EventBusName),
		Source:       aws.String(source),
		DetailType:   aws.String(env.Type),
		Detail:       aws.String(string(detail)),
		Time:         aws.Time(env.AcceptedAt),
	}, size, nil
}
