package storagefirst

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Defaults of IdempotentConfig.
const (
	// IdempotencyScopeDefault is the scope used when IdempotentConfig.Scope is empty.
	IdempotencyScopeDefault = "default"
	// IdempotencyLeaseDefault is how long an in-progress record holds its key before
	// another worker may take over. It is shortened to the handler's deadline.
	IdempotencyLeaseDefault = 5 * time.Minute
	// IdempotencyTTLDefault is how long a completed record is kept: 24 hours, as
	// long as EventBridge goes on retrying a target.
	IdempotencyTTLDefault = 24 * time.Hour
	// IdempotencyInProgressWaitDefault is how long a duplicate waits for the
	// worker holding its key to finish before giving up with a retryable error.
	IdempotencyInProgressWaitDefault = 30 * time.Second
	// idempotencyPollMax caps the pause between looks at an in-progress key.
	idempotencyPollMax = time.Second
	// idempotencyMinLease keeps a lease from being shorter than a store round trip.
	idempotencyMinLease = time.Second
	// idempotencyRecordTimeout bounds the store call that records an outcome.
	idempotencyRecordTimeout = 10 * time.Second
)

// IdempotentConfig configures the Idempotent middleware. Store is required; every
// other zero field means its documented default.
type IdempotentConfig struct {
	// Store keeps the records.
	Store IdempotencyStore
	// Scope namespaces keys (one per consumer or operation). Default
	// IdempotencyScopeDefault.
	Scope string
	// Key picks the idempotency key. Default Envelope.Key (IdempotencyKey, else ID).
	Key func(Envelope) string
	// Fingerprint identifies the request, to catch a key reused for another one.
	// Default PayloadFingerprint. Return "" to skip the check.
	Fingerprint func(Envelope) string
	// Lease is how long a claim holds the key. Default IdempotencyLeaseDefault,
	// shortened to the time left before ctx's deadline (as Powertools ties it to the
	// Lambda's remaining time).
	Lease time.Duration
	// TTL is how long a completed record is kept. Default IdempotencyTTLDefault.
	TTL time.Duration
	// InProgressWait is how long a duplicate waits, polling, for the worker that
	// holds its key to finish (then it is skipped, or runs if that worker released
	// the key or died): a duplicate delivery is not a failure and should not spend
	// retries. Default IdempotencyInProgressWaitDefault, shortened to ctx's deadline;
	// negative means do not wait.
	InProgressWait time.Duration
	// Clock paces the polling. Default SystemClock.
	Clock Clock
	// Logger, if set, logs skipped duplicates at Debug level.
	Logger *slog.Logger
}

// StoredFailureError is returned for a repeat of an operation whose stored outcome
// is a permanent failure. It is classified permanent.
type StoredFailureError struct {
	Key     string
	Message string
}

// Error says which key failed before, and how.
func (e *StoredFailureError) Error() string {
	return fmt.Sprintf("storagefirst: key %q failed permanently before: %s", e.Key, e.Message)
}

// PayloadFingerprint returns the hex SHA-256 of env's payload.
func PayloadFingerprint(env Envelope) string {
	sum := sha256.Sum256(env.Payload)
	return hex.EncodeToString(sum[:])
}

// Idempotent returns middleware that runs the handler at most once to completion per
// idempotency key, so that at-least-once delivery has exactly-once effects.
//
//   - A new key (or one released after a retryable failure) is claimed and the
//     handler runs with the Claim in its context (ClaimFromContext).
//   - Success stores an empty outcome; a repeat returns nil without running.
//   - A permanent failure is stored too; a repeat returns it again as a permanent
//     *StoredFailureError without running, unless the envelope is a replay
//     (MetadataReplayedAt): then the stored failure is deleted and it runs again.
//   - A retryable or canceled failure releases the key and is returned as it was.
//   - A key held by another worker is waited for (InProgressWait): when the holder
//     completes, the duplicate is skipped; when it releases the key or its lease
//     runs out, the duplicate runs. Past the wait, an error wrapping ErrInProgress,
//     marked RetryAfter the holder's lease, so the delivery is retried later.
//   - A key reused with another payload returns a permanent error wrapping
//     ErrFingerprintMismatch.
//   - Failing to read the store is retryable. Failing to record a success is
//     returned as retryable too: the redelivery may run the handler again, so
//     effects that must never repeat are best recorded in the same transaction as
//     the business writes (pgstore.IdempotencyStore.CompleteTx).
//
// Idempotent panics when cfg.Store is nil or a duration is negative.
func Idempotent(cfg IdempotentConfig) Middleware {
	if cfg.Store == nil {
		panic("storagefirst: Idempotent needs a Store")
	}
	if cfg.Lease < 0 || cfg.TTL < 0 {
		panic("storagefirst: Idempotent with a negative Lease or TTL")
	}
	if cfg.Scope == "" {
		cfg.Scope = IdempotencyScopeDefault
	}
	if cfg.Key == nil {
		cfg.Key = Envelope.Key
	}
	if cfg.Fingerprint == nil {
		cfg.Fingerprint = PayloadFingerprint
	}
	if cfg.Lease == 0 {
		cfg.Lease = IdempotencyLeaseDefault
	}
	if cfg.TTL == 0 {
		cfg.TTL = IdempotencyTTLDefault
	}
	if cfg.InProgressWait == 0 {
		cfg.InProgressWait = IdempotencyInProgressWaitDefault
	}
	cfg.Clock = clockOrSystem(cfg.Clock)
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, env Envelope) error {
			return cfg.handle(ctx, next, env)
		})
	}
}

func (cfg IdempotentConfig) handle(ctx context.Context, next Handler, env Envelope) error {
	key := cfg.Key(env)
	if key == "" {
		return Permanent(fmt.Errorf("%w: envelope %s has an empty idempotency key", ErrInvalidEnvelope, env.ID))
	}
	lease := cfg.Lease
	if dl, ok := ctx.Deadline(); ok {
		lease = max(min(lease, time.Until(dl)), idempotencyMinLease)
	}
	res, err := cfg.Store.Begin(ctx, cfg.Scope, key, cfg.Fingerprint(env), lease)
	if err == nil && !res.Acquired && res.Record.Outcome.Failed() && env.Metadata[MetadataReplayedAt] != "" {
		// An operator replays a dead letter whose key failed for good: forget the
		// stored failure and run again. A stored success still wins.
		if err := cfg.Store.Delete(ctx, cfg.Scope, key); err != nil {
			return Retryable(fmt.Errorf("storagefirst: idempotency delete %q for a replay: %w", key, err))
		}
		res, err = cfg.Store.Begin(ctx, cfg.Scope, key, cfg.Fingerprint(env), lease)
	}
	if errors.Is(err, ErrInProgress) && cfg.InProgressWait > 0 {
		res, err = cfg.waitInProgress(ctx, key, cfg.Fingerprint(env), lease)
	}
	switch {
	case errors.Is(err, ErrInProgress):
		return RetryAfter(err, max(time.Until(res.Record.LeaseUntil), 0))
	case errors.Is(err, ErrFingerprintMismatch):
		return Permanent(err)
	case err != nil:
		return Retryable(fmt.Errorf("storagefirst: idempotency begin %q: %w", key, err))
	case !res.Acquired:
		if cfg.Logger != nil {
			cfg.Logger.DebugContext(ctx, "storagefirst: duplicate skipped", "envelope_id", env.ID, "key", key)
		}
		if res.Record.Outcome.Failed() {
			return Permanent(&StoredFailureError{Key: key, Message: res.Record.Outcome.Error})
		}
		return nil
	}

	hctx := WithClaim(ctx, res.Claim)
	herr := next.Handle(hctx, env)

	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), idempotencyRecordTimeout)
	defer cancel()
	switch {
	case herr == nil && outcomeRecorded(hctx):
		return nil // completed in the handler's own transaction
	case herr == nil:
		if err := cfg.Store.Complete(rctx, res.Claim, Outcome{}, cfg.TTL); err != nil {
			return Retryable(fmt.Errorf("storagefirst: idempotency complete %q: %w", key, err))
		}
		return nil
	case IsPermanent(herr):
		if err := cfg.Store.Complete(rctx, res.Claim, Outcome{Error: herr.Error()}, cfg.TTL); err != nil {
			return errors.Join(herr, fmt.Errorf("storagefirst: idempotency complete %q: %w", key, err))
		}
		return herr
	default:
		if err := cfg.Store.Release(rctx, res.Claim); err != nil && !errors.Is(err, ErrLeaseLost) {
			// The lease runs out by itself; the failure is still the handler's.
			return errors.Join(herr, fmt.Errorf("storagefirst: idempotency release %q: %w", key, err))
		}
		return herr
	}
}

// waitInProgress polls Begin until the key is no longer held by another worker, or
// the wait (bounded by ctx) is over; it returns the last Begin's answer.
func (cfg IdempotentConfig) waitInProgress(ctx context.Context, key, fp string, lease time.Duration) (BeginResult, error) {
	until := cfg.Clock.Now().Add(cfg.InProgressWait)
	pause := 20 * time.Millisecond
	for {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < pause {
			return cfg.Store.Begin(ctx, cfg.Scope, key, fp, lease)
		}
		select {
		case <-ctx.Done():
			return BeginResult{}, ctx.Err()
		case <-cfg.Clock.After(pause):
		}
		res, err := cfg.Store.Begin(ctx, cfg.Scope, key, fp, lease)
		if !errors.Is(err, ErrInProgress) || !cfg.Clock.Now().Before(until) {
			return res, err
		}
		pause = min(pause*2, idempotencyPollMax)
	}
}
