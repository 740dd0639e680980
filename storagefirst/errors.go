package storagefirst

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Errors returned by this package and by the stores that implement its contracts.
// Check them with errors.Is.
var (
	// ErrInvalidEnvelope: an envelope failed Validate or could not be decoded.
	ErrInvalidEnvelope = errors.New("storagefirst: invalid envelope")
	// ErrTooLarge: an envelope or payload is larger than the limit in force.
	ErrTooLarge = errors.New("storagefirst: too large")
	// ErrPermanent is matched by every error marked with Permanent.
	ErrPermanent = errors.New("storagefirst: permanent failure")
	// ErrRetryable is matched by every error marked with Retryable or RetryAfter.
	ErrRetryable = errors.New("storagefirst: retryable failure")
	// ErrLeaseLost: a lease (a queue claim or an idempotency record) expired or was
	// taken by another worker, so its holder may no longer act on it (fencing).
	ErrLeaseLost = errors.New("storagefirst: lease lost")
	// ErrNotFound: the envelope or record does not exist.
	ErrNotFound = errors.New("storagefirst: not found")
	// ErrInProgress: another worker holds the idempotency key right now.
	ErrInProgress = errors.New("storagefirst: already in progress")
	// ErrFingerprintMismatch: an idempotency key was reused for a different request.
	ErrFingerprintMismatch = errors.New("storagefirst: idempotency key reused with a different request")
	// ErrClosed: the store, sink or consumer has been closed.
	ErrClosed = errors.New("storagefirst: closed")
	// ErrOutcomeUnknown: a write may or may not have committed (the connection died
	// during the commit, or the caller's deadline ended it). Never acknowledge it;
	// retry it in a way that finds the first attempt, such as a KeyedPut under the
	// same key or a Put of the same envelope ID.
	ErrOutcomeUnknown = errors.New("storagefirst: outcome unknown")
)

// Class says what should happen to an envelope whose handler failed.
type Class int

const (
	// ClassRetryable failures are transient: retry under the RetryPolicy, then
	// dead-letter. Unknown errors and context.DeadlineExceeded are retryable.
	ClassRetryable Class = iota
	// ClassPermanent failures will fail the same way every time (bad input, a
	// business rule): never retry; dead-letter at once.
	ClassPermanent
	// ClassCanceled means the work was interrupted (context.Canceled, usually a
	// shutdown), not that it failed: release the envelope without counting a failure.
	ClassCanceled
)

// String returns "retryable", "permanent" or "canceled".
func (c Class) String() string {
	switch c {
	case ClassPermanent:
		return "permanent"
	case ClassCanceled:
		return "canceled"
	default:
		return "retryable"
	}
}

// classifiedError marks an error with a Class and an optional retry-after delay.
type classifiedError struct {
	err        error
	class      Class
	retryAfter time.Duration
}

func (e *classifiedError) Error() string { return e.err.Error() }
func (e *classifiedError) Unwrap() error { return e.err }

// Is makes errors.Is(err, ErrPermanent) and errors.Is(err, ErrRetryable) work.
func (e *classifiedError) Is(target error) bool {
	switch target {
	case ErrPermanent:
		return e.class == ClassPermanent
	case ErrRetryable:
		return e.class == ClassRetryable
	}
	return false
}

// Permanent marks err as permanent: it is never retried and goes straight to the
// dead letters. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &classifiedError{err: err, class: ClassPermanent}
}

// Permanentf is Permanent(fmt.Errorf(format, args...)).
func Permanentf(format string, args ...any) error {
	return Permanent(fmt.Errorf(format, args...))
}

// Retryable marks err as retryable, overriding any class an inner error has (for
// example a permanent error from a dependency that the caller knows to be transient).
// Retryable(nil) is nil.
func Retryable(err error) error {
	if err == nil {
		return nil
	}
	return &classifiedError{err: err, class: ClassRetryable}
}

// RetryAfter marks err as retryable no sooner than d from now: retry policies wait
// at least d (an HTTP Retry-After, a throttling hint). RetryAfter(nil, d) is nil.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &classifiedError{err: err, class: ClassRetryable, retryAfter: max(d, 0)}
}

// Classify returns the class of err. The outermost mark set by Permanent, Retryable
// or RetryAfter wins; otherwise context.Canceled is ClassCanceled and everything else,
// context.DeadlineExceeded included, is ClassRetryable. Classify(nil) is
// ClassRetryable; callers check for nil first.
func Classify(err error) Class {
	var ce *classifiedError
	if errors.As(err, &ce) {
		return ce.class
	}
	if errors.Is(err, context.Canceled) {
		return ClassCanceled
	}
	return ClassRetryable
}

// IsPermanent reports whether Classify(err) is ClassPermanent.
func IsPermanent(err error) bool { return err != nil && Classify(err) == ClassPermanent }

// IsRetryable reports whether Classify(err) is ClassRetryable.
func IsRetryable(err error) bool { return err != nil && Classify(err) == ClassRetryable }

// RetryAfterOf returns the delay set by RetryAfter on err or an error it wraps.
func RetryAfterOf(err error) (time.Duration, bool) {
	var ce *classifiedError
	if errors.As(err, &ce) && ce.retryAfter > 0 {
		return ce.retryAfter, true
	}
	return 0, false
}
