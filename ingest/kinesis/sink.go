package kinesis

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/storagefirst/storagefirst-go/internal/awsput"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// Limits and defaults of PutRecords and SinkConfig.
const (
	// MaxRecords is the most records one PutRecords takes.
	MaxRecords = 500
	// MaxRecordSizeDefault is the record limit (data plus partition key), 1 MiB;
	// streams may opt in to 10 MiB (MaxSizeLimit).
	MaxRecordSizeDefault = 1 << 20
	// MaxRequestSizeDefault is the request limit, 5 MiB; 10 MiB with the opt-in.
	MaxRequestSizeDefault = 5 << 20
	// MaxSizeLimit is the largest record or request size a stream can opt in to.
	MaxSizeLimit = 10 << 20
	// MaxPartitionKeyLength is Kinesis's limit; longer keys are hashed.
	MaxPartitionKeyLength = 256
	ConcurrencyDefault    = awsput.ConcurrencyDefault
	MaxWaitDefault        = awsput.MaxWaitDefault
	RequestTimeoutDefault = awsput.RequestTimeoutDefault
)

// EntryRetryDefault resends records that failed with a retryable code.
var EntryRetryDefault = storagefirst.RetryPolicy{Interval: 100 * time.Millisecond, MaxRetries: 3, Jitter: storagefirst.JitterFull}

// retryableCodes are the PutRecords record error codes worth resending.
var retryableCodes = map[string]bool{"ProvisionedThroughputExceededException": true, "InternalFailure": true,
	"KMSThrottlingException": true}

// PutRecordsAPI is the part of the Kinesis client the sink uses.
type PutRecordsAPI interface {
	PutRecords(ctx context.Context, in *awskinesis.PutRecordsInput, optFns ...func(*awskinesis.Options)) (*awskinesis.PutRecordsOutput, error)
}

// SinkConfig configures a Sink. StreamName or StreamARN is required; every other
// zero field means its default.
type SinkConfig struct {
	StreamName string
	StreamARN  string
	// PartitionKey picks a record's partition key. Default Envelope.Key. Keys longer
	// than MaxPartitionKeyLength are replaced by their SHA-256.
	PartitionKey   func(storagefirst.Envelope) string
	MaxRecordSize  int
	MaxRequestSize int
	Retry          *storagefirst.RetryPolicy
	Concurrency    int
	MaxWait        time.Duration
	RequestTimeout time.Duration
	Clock          storagefirst.Clock
}

// Sink is a storagefirst.Sink on Kinesis PutRecords, with the behaviour of the
// other AWS sinks: nil only when every record was accepted (FailedRecordCount 0
// for them, after resending throttled ones), a *storagefirst.PutError otherwise,
// and concurrent Puts sharing calls. Close it when done.
type Sink struct {
	cfg    SinkConfig
	sender *awsput.Sender[types.PutRecordsRequestEntry]
}

var _ storagefirst.Sink = (*Sink)(nil)

// NewSink returns a Sink on client.
func NewSink(client PutRecordsAPI, cfg SinkConfig) (*Sink, error) {
	var errs []error
	if client == nil {
		errs = append(errs, errors.New("kinesis: NewSink needs a client"))
	}
	if cfg.StreamName == "" && cfg.StreamARN == "" {
		errs = append(errs, errors.New("kinesis: SinkConfig needs StreamName or StreamARN"))
	}
	if cfg.MaxRecordSize < 0 || cfg.MaxRecordSize > MaxSizeLimit || cfg.MaxRequestSize < 0 || cfg.MaxRequestSize > MaxSizeLimit {
		errs = append(errs, fmt.Errorf("kinesis: MaxRecordSize and MaxRequestSize must be within 0..%d", MaxSizeLimit))
	}
	if cfg.Retry != nil {
		errs = append(errs, cfg.Retry.Validate())
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.MaxRecordSize == 0 {
		cfg.MaxRecordSize = MaxRecordSizeDefault
	}
	if cfg.MaxRequestSize == 0 {
		cfg.MaxRequestSize = MaxRequestSizeDefault
	}
	if cfg.PartitionKey == nil {
		cfg.PartitionKey = storagefirst.Envelope.Key
	}
	in := awskinesis.PutRecordsInput{}
	if cfg.StreamARN != "" {
		in.StreamARN = aws.String(cfg.StreamARN)
	} else {
		in.StreamName = aws.String(cfg.StreamName)
	}
	s := &Sink{cfg: cfg}
	s.sender = awsput.New(awsput.Config{
		MaxEntries: MaxRecords, MaxRequestBytes: cfg.MaxRequestSize,
		Concurrency: cfg.Concurrency, MaxWait: cfg.MaxWait,
		RequestTimeout: cfg.RequestTimeout, Retry: cfg.Retry, DefaultRetry: EntryRetryDefault, Clock: cfg.Clock,
	}, func(ctx context.Context, entries []types.PutRecordsRequestEntry) ([]*awsput.EntryError, error) {
		req := in
		req.Records = entries
		out, err := client.PutRecords(ctx, &req)
		if err != nil {
			return nil, err
		}
		if len(out.Records) != len(entries) {
			return nil, fmt.Errorf("kinesis: %d results for %d records", len(out.Records), len(entries))
		}
		res := make([]*awsput.EntryError, len(entries))
		for i, r := range out.Records {
			if code := aws.ToString(r.ErrorCode); code != "" {
				res[i] = &awsput.EntryError{Code: code, Message: aws.ToString(r.ErrorMessage), Retryable: retryableCodes[code]}
			}
		}
		return res, nil
	})
	return s, nil
}

// Close stops the sink's background batching.
func (s *Sink) Close() { s.sender.Close() }

// Requests returns the PutRecords calls made so far.
func (s *Sink) Requests() int64 { return s.sender.Requests() }

// Put persists envs as records; see Sink.
func (s *Sink) Put(ctx context.Context, envs ...storagefirst.Envelope) error {
	return s.sender.PutEnvelopes(ctx, envs, s.entry)
}

func (s *Sink) entry(env storagefirst.Envelope) (types.PutRecordsRequestEntry, int, error) {
	data, err := json.Marshal(env)
	if err != nil {
		return types.PutRecordsRequestEntry{}, 0, err
	}
	key := s.cfg.PartitionKey(env)
	if key == "" {
		key = env.ID
	}
	if len(key) > MaxPartitionKeyLength {
		sum := sha256.Sum256([]byte(key))
		key = hex.EncodeToString(sum[:])
	}
	size := len(data) + len(key)
	if size > s.cfg.MaxRecordSize {
		return types.PutRecordsRequestEntry{}, 0, fmt.Errorf("%w: envelope %s is a %d-byte record, limit %d", storagefirst.ErrTooLarge, env.ID, size, s.cfg.MaxRecordSize)
	}
	return types.PutRecordsRequestEntry{Data: data, PartitionKey: aws.String(key)}, size, nil
}
