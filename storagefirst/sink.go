package storagefirst

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Sink is where envelopes are persisted before anything acknowledges them.
//
// Put returns nil only once every envelope given is durable: committed to a
// database, accepted by an event bus or queue. When some envelopes were stored and
// others were not, Put returns a *PutError that names the ones that failed, so the
// caller can retry just those (or answer an error: never a success). An envelope
// whose ID is already stored counts as stored: Put is safe to retry. (A Put never
// revives a dead letter of the same ID; see DeadLetters.)
//
// Implementations are safe for concurrent use and honour ctx's deadline.
type Sink interface {
	Put(ctx context.Context, envs ...Envelope) error
}

// SinkFunc lets an ordinary function be a Sink.
type SinkFunc func(ctx context.Context, envs ...Envelope) error

// Put calls f(ctx, envs...).
func (f SinkFunc) Put(ctx context.Context, envs ...Envelope) error { return f(ctx, envs...) }

// FailedEnvelope is one envelope a Sink could not store, and why.
type FailedEnvelope struct {
	ID  string
	Err error
}

// PutError is a partial (or total) failure of Sink.Put. Envelopes not listed in
// Failed were stored.
type PutError struct {
	// Total is how many envelopes the Put was given.
	Total int
	// Failed lists the envelopes that were not stored, in the order given.
	Failed []FailedEnvelope
}

// Error says how many envelopes failed and the first few reasons.
func (e *PutError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "storagefirst: %d of %d envelopes not stored", len(e.Failed), e.Total)
	for i, f := range e.Failed {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(e.Failed)-i)
			break
		}
		fmt.Fprintf(&b, "; %s: %v", f.ID, f.Err)
	}
	return b.String()
}

// Unwrap returns the failures' errors, so errors.Is and errors.As see through.
func (e *PutError) Unwrap() []error {
	errs := make([]error, len(e.Failed))
	for i, f := range e.Failed {
		errs[i] = f.Err
	}
	return errs
}

// FailedIDs returns the IDs of the envelopes that were not stored.
func (e *PutError) FailedIDs() []string {
	ids := make([]string, len(e.Failed))
	for i, f := range e.Failed {
		ids[i] = f.ID
	}
	return ids
}

// Partial reports whether some envelopes were stored.
func (e *PutError) Partial() bool { return len(e.Failed) < e.Total }

// FailedIDs returns the IDs of the envelopes that err (from Sink.Put) says were not
// stored: those of a *PutError, or all of envs for any other non-nil error.
func FailedIDs(err error, envs []Envelope) []string {
	if err == nil {
		return nil
	}
	var pe *PutError
	if errors.As(err, &pe) {
		return pe.FailedIDs()
	}
	ids := make([]string, len(envs))
	for i, e := range envs {
		ids[i] = e.ID
	}
	return ids
}

// ValidateForPut is what a Sink does first: it normalises each envelope and
// validates it, and returns the ones to store and, as permanent failures wrapping
// ErrInvalidEnvelope, the ones it must refuse (report them with NewPutError).
func ValidateForPut(envs []Envelope) ([]Envelope, []FailedEnvelope) {
	valid := make([]Envelope, 0, len(envs))
	var failed []FailedEnvelope
	for _, e := range envs {
		err := e.Normalize()
		if err == nil {
			err = e.validate(false) // Normalize compacted, so validated, the payload
		}
		if err != nil {
			failed = append(failed, FailedEnvelope{ID: e.ID, Err: Permanent(err)})
			continue
		}
		valid = append(valid, e)
	}
	return valid, failed
}

// NewPutError returns nil when nothing failed, else a *PutError for a Put of total
// envelopes.
func NewPutError(total int, failed []FailedEnvelope) error {
	if len(failed) == 0 {
		return nil
	}
	return &PutError{Total: total, Failed: failed}
}
