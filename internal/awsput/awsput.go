// Package awsput is the engine of the AWS sinks: it gathers envelopes from
// concurrent callers into shared requests (internal/batch), splits them by the
// service's entry and byte limits, and resends only the entries that failed with a
// retryable code, under a storagefirst.RetryPolicy, reporting the rest. A request
// the service refuses whole is classified (ClassifyRequestError); a permanent
// refusal of a shared request is narrowed down by halving it, so one caller's bad
// entry never fails another caller's.
//
// ingest/eventbridge, ingest/sqs and ingest/kinesis import it; it imports
// storagefirst, internal/batch, and of the AWS SDK only the service-independent
// error types it classifies (aws/retry, smithy-go), no service client (each sink
// adapts its own SDK's entries).
package awsput

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/storagefirst/storagefirst-go/internal/batch"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// EntryError is the failure of one entry of a request.
type EntryError struct {
	Code      string
	Message   string
	Retryable bool
}

func (e *EntryError) Error() string { return e.Code + ": " + e.Message }

// SendFunc sends one request holding entries and returns, in order, nil for each
// accepted entry and an *EntryError for each failed one; or an error for the whole
// request.
type SendFunc[E any] func(ctx context.Context, entries []E) ([]*EntryError, error)

// Item is one entry on its way, with the envelope ID it stands for and its size as
// the service counts it.
type Item[E any] struct {
	ID    string
	Entry E
	Size  int
}

// Defaults applied by New to zero fields of Config.
const (
	ConcurrencyDefault    = 4
	MaxWaitDefault        = 2 * time.Millisecond
	RequestTimeoutDefault = 10 * time.Second
)

// Config bounds a Sender. Zero Concurrency, MaxWait and RequestTimeout take the
// defaults above; a nil Retry takes DefaultRetry.
type Config struct {
	// MaxEntries and MaxRequestBytes are the service's per-request limits.
	MaxEntries      int
	MaxRequestBytes int
	// Concurrency bounds the requests in flight; MaxWait is how long a forming batch
	// waits for more callers.
	Concurrency int
	MaxWait     time.Duration
	// RequestTimeout bounds each request (retries of failed entries included).
	RequestTimeout time.Duration
	// Retry resends entries that failed with a retryable code; nil means DefaultRetry.
	Retry        *storagefirst.RetryPolicy
	DefaultRetry storagefirst.RetryPolicy
	// Clock measures the waits between retries.
	Clock storagefirst.Clock
}

// Sender sends items in shared, bounded requests.
type Sender[E any] struct {
	cfg      Config
	send     SendFunc[E]
	b        *batch.Batcher[Item[E], error]
	requests atomic.Int64
	cancel   context.CancelFunc
}

// New starts a Sender; Close stops it.
func New[E any](cfg Config, send SendFunc[E]) *Sender[E] {
	if cfg.Clock == nil {
		cfg.Clock = storagefirst.SystemClock{}
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = ConcurrencyDefault
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = MaxWaitDefault
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = RequestTimeoutDefault
	}
	if cfg.Retry != nil {
		cfg.DefaultRetry = *cfg.Retry
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sender[E]{cfg: cfg, send: send, cancel: cancel}
	// A batch is at most one request's entries (exec still splits by bytes).
	s.b = batch.New(ctx, batch.Config{MaxBatch: cfg.MaxEntries, Concurrency: cfg.Concurrency, MaxWait: cfg.MaxWait}, s.exec)
	return s
}

// Close stops the Sender; puts not yet sent fail with storagefirst.ErrClosed.
func (s *Sender[E]) Close() {
	s.cancel()
	s.b.Wait()
}

// Requests returns how many requests were sent, retries included.
func (s *Sender[E]) Requests() int64 { return s.requests.Load() }

// Put sends items and returns nil once every one was accepted, or a
// *storagefirst.PutError naming the ones that were not (retryable or permanent,
// by their codes). total is the number of envelopes the caller's Put was given;
// rejected lists envelopes refused before sending (too large, invalid).
func (s *Sender[E]) Put(ctx context.Context, total int, items []Item[E], rejected []storagefirst.FailedEnvelope) error {
	failed := rejected
	if len(items) > 0 {
		res, err := s.b.Do(ctx, items)
		if err != nil {
			for _, it := range items {
				failed = append(failed, storagefirst.FailedEnvelope{ID: it.ID, Err: storagefirst.Retryable(err)})
			}
		}
		for i, e := range res {
			if e != nil {
				failed = append(failed, storagefirst.FailedEnvelope{ID: items[i].ID, Err: e})
			}
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return &storagefirst.PutError{Total: total, Failed: failed}
}

// PutEnvelopes normalises and validates envs, builds each one's entry with build
// (which returns the entry and its size as the service counts it), and sends them;
// envelopes that fail validation or building are reported as permanent failures.
func (s *Sender[E]) PutEnvelopes(ctx context.Context, envs []storagefirst.Envelope, build func(storagefirst.Envelope) (E, int, error)) error {
	valid, rejected := storagefirst.ValidateForPut(envs)
	items := make([]Item[E], 0, len(valid))
	for _, env := range valid {
		entry, size, err := build(env)
		if err != nil {
			rejected = append(rejected, storagefirst.FailedEnvelope{ID: env.ID, Err: storagefirst.Permanent(err)})
			continue
		}
		items = append(items, Item[E]{ID: env.ID, Entry: entry, Size: size})
	}
	return s.Put(ctx, len(envs), items, rejected)
}

// exec splits a batch into requests within the limits and sends each. An item
// larger than a whole request fails alone, permanently, and is never sent.
func (s *Sender[E]) exec(ctx context.Context, items []Item[E]) ([]error, error) {
	out := make([]error, len(items))
	limit := s.cfg.MaxRequestBytes
	var chunk []int
	bytes := 0
	flush := func() {
		if len(chunk) > 0 {
			s.sendChunk(ctx, items, out, chunk)
		}
		chunk, bytes = nil, 0
	}
	for i, it := range items {
		if limit > 0 && it.Size > limit {
			out[i] = storagefirst.Permanent(fmt.Errorf("%w: the entry of envelope %s is %d bytes, over the %d-byte request limit",
				storagefirst.ErrTooLarge, it.ID, it.Size, limit))
			continue
		}
		if (s.cfg.MaxEntries > 0 && len(chunk) == s.cfg.MaxEntries) || (limit > 0 && bytes+it.Size > limit) {
			flush()
		}
		chunk = append(chunk, i)
		bytes += it.Size
	}
	flush()
	return out, nil
}

// sendChunk sends the items at idx as one request, within RequestTimeout.
func (s *Sender[E]) sendChunk(ctx context.Context, items []Item[E], out []error, idx []int) {
	if s.cfg.RequestTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.RequestTimeout)
		defer cancel()
	}
	s.attempt(ctx, items, out, idx)
}

// attempt sends the items at pending and resends their retryable failures. When
// the service refuses the whole request with an error an entry may cause (a
// validation error: too large, malformed), the request is split in halves and each
// half sent on its own, so that the entry at fault fails alone and the other
// callers' entries of a shared request go through.
func (s *Sender[E]) attempt(ctx context.Context, items []Item[E], out []error, pending []int) {
	for retry := 0; ; retry++ {
		entries := make([]E, len(pending))
		for j, i := range pending {
			entries[j] = items[i].Entry
		}
		s.requests.Add(1)
		results, err := s.send(ctx, entries)
		if err == nil && len(results) != len(entries) {
			err = fmt.Errorf("awsput: %d results for %d entries", len(results), len(entries))
		}
		if err != nil {
			// The SDK has retried the request already.
			err = ClassifyRequestError(err)
			if storagefirst.IsPermanent(err) && isolatable(err) && len(pending) > 1 && ctx.Err() == nil {
				half := len(pending) / 2
				s.attempt(ctx, items, out, pending[:half:half])
				s.attempt(ctx, items, out, pending[half:])
				return
			}
			for _, i := range pending {
				out[i] = err
			}
			return
		}
		var again []int
		var lastErr *EntryError
		for j, i := range pending {
			switch e := results[j]; {
			case e == nil:
				out[i] = nil
			case e.Retryable:
				out[i] = storagefirst.Retryable(e)
				again, lastErr = append(again, i), e
			default:
				out[i] = storagefirst.Permanent(e)
			}
		}
		if len(again) == 0 || !s.cfg.DefaultRetry.ShouldRetry(storagefirst.Retryable(lastErr), retry) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-s.cfg.Clock.After(s.cfg.DefaultRetry.Delay(retry+1, nil)):
		}
		pending = again
	}
}
