package storagefirst

import (
	"context"
	"time"
)

// MaxFailureHistory is how many failures a queue keeps per envelope: the first one
// and the most recent MaxFailureHistory-1.
const MaxFailureHistory = 20

// Failure records one failed attempt.
type Failure struct {
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
	// Class is "retryable", "permanent" or "canceled" (Class.String).
	Class string `json:"class"`
	Error string `json:"error"`
	// Code is an error code where the failure has one, such as EventBridge's
	// ERROR_CODE (THROTTLING, ...) or a Step Functions error name.
	Code string `json:"code,omitempty"`
	// Origin says where it failed: a consumer, a function or rule ARN, a state
	// machine.
	Origin string `json:"origin,omitempty"`
}

// NewFailure describes a failed attempt: err's message and Classify(err).
func NewFailure(attempt int, at time.Time, err error) Failure {
	f := Failure{Attempt: attempt, At: at.UTC().Round(0), Class: ClassRetryable.String()}
	if err != nil {
		f.Class = Classify(err).String()
		f.Error = err.Error()
	}
	return f
}

// AppendFailure appends f to history and trims it to MaxFailureHistory entries,
// keeping the first failure and the most recent ones.
func AppendFailure(history []Failure, f Failure) []Failure {
	history = append(history, f)
	if n := len(history); n > MaxFailureHistory {
		history = append(history[:1], history[n-MaxFailureHistory+1:]...)
	}
	return history
}

// Lease is a claim on one envelope: only the holder of Token may acknowledge, retry,
// release, extend or dead-letter it, and only until Until (unless extended).
type Lease struct {
	ID    string
	Token int64
	Until time.Time
}

// Delivery is an envelope claimed from a Queue.
type Delivery struct {
	// Envelope, with Attempt set to this delivery's number (1 for the first).
	Envelope Envelope
	Lease    Lease
	// Failures are the earlier failures of this envelope, oldest first.
	Failures []Failure
}

// Queue is what a durable store offers a local consumer: the envelopes Put into it,
// delivered under leases.
//
// Claim returns up to max envelopes that are due (new, or whose retry time has
// come, or whose lease expired without an answer), each under a new lease of the
// given length and a token no earlier lease of it had; it increments each one's
// Attempt. An envelope is held by at most one lease at a time. Claim returns an
// empty slice, not an error, when nothing is due.
//
// Every other method acts on a lease and fails with an error wrapping ErrLeaseLost
// when the lease's token is no longer the current one (it expired and the envelope
// was claimed again, or it was answered already):
//   - Ack: the envelope is done and leaves the queue.
//   - Retry: the attempt failed; deliver again after delay, recording the failure.
//   - Release: the attempt was interrupted, not failed; deliver again now, without
//     counting the attempt.
//   - DeadLetter: the envelope failed for good; move it to the dead letters with its
//     failure history plus this failure. Nothing is ever deleted silently.
//   - Extend: the handler is still working; the lease now ends after d from now.
//
// Durations are measured on the store's clock. Implementations are safe for
// concurrent use, also from several processes where the backend is shared.
type Queue interface {
	Sink
	Claim(ctx context.Context, max int, lease time.Duration) ([]Delivery, error)
	Ack(ctx context.Context, lease Lease) error
	Retry(ctx context.Context, lease Lease, delay time.Duration, failure Failure) error
	Release(ctx context.Context, lease Lease) error
	DeadLetter(ctx context.Context, lease Lease, failure Failure) error
	Extend(ctx context.Context, lease Lease, d time.Duration) (Lease, error)
}

// Waker is implemented by queues that can tell a consumer that work arrived, so it
// need not poll (pgstore uses LISTEN/NOTIFY). The channel receives a value, possibly
// coalesced, after envelopes become due, and is closed when ctx ends.
type Waker interface {
	Wake(ctx context.Context) <-chan struct{}
}

// DeadLetter is an envelope that failed for good, with its failure history.
type DeadLetter struct {
	Envelope Envelope
	// Failures, oldest first; the last one is why it was dead-lettered.
	Failures []Failure
	DeadAt   time.Time
}

// FirstFailure and LastFailure return the first and the last recorded failure.
func (d DeadLetter) FirstFailure() Failure { return at(d.Failures, 0) }

// LastFailure returns the failure that dead-lettered the envelope.
func (d DeadLetter) LastFailure() Failure { return at(d.Failures, len(d.Failures)-1) }

func at(fs []Failure, i int) Failure {
	if i < 0 || i >= len(fs) {
		return Failure{}
	}
	return fs[i]
}

// MetadataReplayedAt marks a replayed envelope (RFC 3339 time of the replay). The
// Idempotent middleware lets a replayed envelope run again when its key's stored
// outcome is a permanent failure; dlq.Replay and DeadLetters.Requeue set it.
const MetadataReplayedAt = "storagefirst-replayed-at"

// MarkReplayed returns env with MetadataReplayedAt set to at (and its own copy of
// the metadata).
func MarkReplayed(env Envelope, at time.Time) Envelope {
	env = env.Clone()
	if env.Metadata == nil {
		env.Metadata = map[string]string{}
	}
	env.Metadata[MetadataReplayedAt] = at.UTC().Format(time.RFC3339Nano)
	return env
}

// DeadLetterFilter selects dead letters. Zero fields select everything.
type DeadLetterFilter struct {
	// AfterID continues a listing after the dead letter with that envelope ID.
	AfterID string
	// Limit caps the number returned; zero means 100.
	Limit int
	Type  string
}

// DeadLetters is implemented by queues that keep their dead letters, to inspect and
// replay them. A Put of an envelope whose ID is a dead letter of the queue is a
// duplicate and leaves the dead letter as it is: Put is safe to retry, and a retry
// that lands after the envelope was dead-lettered must not run a request that
// failed for good again. Only Requeue (an explicit replay) revives a dead letter.
//
// ListDead returns dead letters in envelope-ID order. Requeue moves a dead letter
// back to the queue, due now with Attempt reset to 0, its failure history kept and
// MetadataReplayedAt set, keeping the envelope's ID and idempotency key so that a
// completed effect is not repeated. DeleteDead removes one for good. Both fail
// with ErrNotFound for an unknown ID.
type DeadLetters interface {
	ListDead(ctx context.Context, filter DeadLetterFilter) ([]DeadLetter, error)
	Requeue(ctx context.Context, id string) error
	DeleteDead(ctx context.Context, id string) error
}

// QueueStats is a snapshot of a queue.
type QueueStats struct {
	// Ready envelopes are due now; Scheduled ones wait for a retry time.
	Ready     int64 `json:"ready"`
	Scheduled int64 `json:"scheduled"`
	// InFlight envelopes are held under a lease.
	InFlight int64 `json:"in_flight"`
	// Dead envelopes are in the dead letters.
	Dead int64 `json:"dead"`
	// OldestReadyAge is how long the oldest ready envelope has been waiting. In
	// JSON it is oldest_ready_age_seconds, in seconds (see MarshalJSON).
	OldestReadyAge time.Duration `json:"-"`
}

// Depth returns the envelopes not yet done: ready, scheduled and in flight.
func (s QueueStats) Depth() int64 { return s.Ready + s.Scheduled + s.InFlight }

// StatsReporter is implemented by queues that report their QueueStats.
type StatsReporter interface {
	Stats(ctx context.Context) (QueueStats, error)
}
