package storagefirst

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// Defaults of IdempotentConfig.
const (
	// IdempotencyScopeDefault is the scope used when IdempotentConfig.Scope is empty.
	IdempotencyScopeDefault = "default"
	// IdempotencyLeaseDefault is how long an in-progress record holds its key before
	// another worker may take over, unless renewed: the middleware renews it every
	// third of its length while the handler runs, so it bounds how long the key of
	// a crashed worker stays held, not how long a handler may run. It is shortened
	// to the handler's deadline. It matches ConsumerLeaseDefault.
	IdempotencyLeaseDefault = 30 * time.Second
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
	// idempotencyMinRenewal keeps a very short configured lease from renewing in a
	// busy loop.
	idempotencyMinRenewal = 10 * time.Millisecond
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
	// Lease is how long a claim holds the key without renewal. The middleware
	// renews it every third of its length while the handler runs, and stops when
	// the handler's context ends, so a claim lives as long as its handler: a slow
	// but healthy holder is never taken over, and the key of a crashed one is free
	// again within Lease. Default IdempotencyLeaseDefault, shortened to the time
	// left before ctx's deadline (as Powertools ties it to the Lambda's remaining
	// time).
	Lease time.Duration
	// TTL is how long a completed record is kept. Default IdempotencyTTLDefault.
	// It travels with the claim in the handler's context (Claim.TTL), so that a
	// completion inside the handler (pgstore's CompleteFromContext, CompleteTx,
	// CompleteBatch; sqlitestore's) records it too.
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
//     handler runs with the Claim in its context (ClaimFromContext), carrying the
//     configured TTL. The claim is renewed while the handler runs (see Lease); if
//     it is lost anyway (the store was unreachable for a whole lease and another
//     worker took the key over), the handler's context is cancelled with a cause
//     wrapping ErrLeaseLost, every completion of the lost claim fails with
//     ErrLeaseLost, and the middleware returns a retryable error wrapping
//     ErrLeaseLost (and the handler's error).
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
// Idempotent validates cfg, reporting every problem: a nil Store, a negative Lease
// or TTL.
func Idempotent(cfg IdempotentConfig) (Middleware, error) {
	var errs []error
	if cfg.Store == nil {
		errs = append(errs, errors.New("storagefirst: IdempotentConfig.Store is required"))
	}
	if cfg.Lease < 0 {
		errs = append(errs, fmt.Errorf("storagefirst: IdempotentConfig.Lease %v is negative", cfg.Lease))
	}
	if cfg.TTL < 0 {
		errs = append(errs, fmt.Errorf("storagefirst: IdempotentConfig.TTL %v is negative", cfg.TTL))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
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
		return &idempotentHandler{cfg: cfg, next: next}
	}, nil
}

// idempotentHandler is the Handler Idempotent returns; a pointer, so that a
// delivery's context can tell whether it is the handler the delivery was given to.
type idempotentHandler struct {
	cfg  IdempotentConfig
	next Handler
}

// Handle runs the envelope through the middleware.
func (h *idempotentHandler) Handle(ctx context.Context, env Envelope) error {
	d, ok := deliveryHolderFrom(ctx)
	return h.cfg.handle(ctx, h.next, env, ok && d.isEntry(h))
}

func (cfg IdempotentConfig) handle(ctx context.Context, next Handler, env Envelope, acksDelivery bool) error {
	key := cfg.Key(env)
	if key == "" {
		return Permanent(fmt.Errorf("%w: envelope %s has an empty idempotency key", ErrInvalidEnvelope, env.ID))
	}
	lease := cfg.lease(ctx)
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
	case err != nil && IsPermanent(err):
		// The store refuses the key for good (pgstore's ErrInvalidIdempotencyKey):
		// retrying cannot help.
		return Permanent(fmt.Errorf("storagefirst: idempotency begin %q: %w", key, err))
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

	claim := res.Claim
	claim.TTL = cfg.TTL
	hctx, cancelHandler := context.WithCancelCause(ctx)
	defer cancelHandler(nil)
	hctx, holder := withClaimHolder(hctx, claim)
	holder.acksDelivery = acksDelivery
	stopRenewal, renewalDone := make(chan struct{}), make(chan struct{})
	var claimLost atomic.Bool // the renewal found the claim taken over
	go func() {
		defer close(renewalDone)
		cfg.renew(hctx, holder, lease, stopRenewal, func(cause error) {
			claimLost.Store(true)
			cancelHandler(cause)
		})
	}()
	herr := next.Handle(hctx, env)
	close(stopRenewal)
	<-renewalDone
	claim = holder.current()
	if lost := context.Cause(hctx); claimLost.Load() && !(herr == nil && outcomeRecorded(hctx)) {
		// Another worker holds the key now: this claim can neither complete nor
		// release it (fencing), and the other worker's outcome wins. Retried, the
		// delivery finds that outcome.
		return Retryable(errors.Join(lost, herr))
	}
	// Otherwise the claim is still this handler's, also when the delivery's queue
	// lease was lost (the consumer cancelled the handler with ErrLeaseLost): record
	// or release it now, so that the envelope's next holder finds the outcome, or
	// the key free, instead of waiting for this claim's lease to run out.

	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), idempotencyRecordTimeout)
	defer cancel()
	switch {
	case herr == nil && outcomeRecorded(hctx):
		return nil // completed in the handler's own transaction
	case herr == nil:
		if err := cfg.Store.Complete(rctx, claim, Outcome{}, cfg.TTL); err != nil {
			return Retryable(fmt.Errorf("storagefirst: idempotency complete %q: %w", key, err))
		}
		return nil
	case IsPermanent(herr):
		if err := cfg.Store.Complete(rctx, claim, Outcome{Error: herr.Error()}, cfg.TTL); err != nil {
			return errors.Join(herr, fmt.Errorf("storagefirst: idempotency complete %q: %w", key, err))
		}
		return herr
	default:
		if err := cfg.Store.Release(rctx, claim); err != nil && !errors.Is(err, ErrLeaseLost) {
			// The lease runs out by itself; the failure is still the handler's.
			return errors.Join(herr, fmt.Errorf("storagefirst: idempotency release %q: %w", key, err))
		}
		return herr
	}
}

// lease returns the lease to take or renew a claim for: Lease, shortened to the time
// left before ctx's deadline (never below idempotencyMinLease).
func (cfg IdempotentConfig) lease(ctx context.Context) time.Duration {
	lease := cfg.Lease
	if dl, ok := ctx.Deadline(); ok {
		lease = max(min(lease, time.Until(dl)), idempotencyMinLease)
	}
	return lease
}

// renew keeps the claim in h alive while the handler runs: every third of the
// lease it extends the claim by a fresh lease, as the Consumer extends the queue
// lease of the same delivery. It stops when stop closes (the handler returned),
// when ctx ends (the handler's deadline passed or it was cancelled: the claim then
// runs out like the queue lease, so a handler that ignores its context cannot hold
// the key forever). A claim the handler completed in its own transaction renews
// as a no-op (the transaction may yet roll back, and the handler try again). When
// the claim is lost to another worker it cancels the handler with a cause wrapping
// ErrLeaseLost.
func (cfg IdempotentConfig) renew(ctx context.Context, h *claimHolder, lease time.Duration, stop <-chan struct{}, cancel context.CancelCauseFunc) {
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-cfg.Clock.After(max(lease/3, idempotencyMinRenewal)):
		}
		lease = cfg.lease(ctx)
		c := h.current()
		ectx, done := context.WithTimeout(ctx, lease)
		renewed, err := cfg.Store.Extend(ectx, c, lease)
		done()
		switch {
		case err == nil:
			h.renewed(renewed)
		case errors.Is(err, ErrLeaseLost):
			cancel(fmt.Errorf("storagefirst: idempotency claim on key %q lost to another worker: %w", c.Key, err))
			return
		case ctx.Err() == nil && cfg.Logger != nil:
			// Tried again at the next tick; if the lease runs out meanwhile and the
			// key is taken over, this holder's completion is fenced off.
			cfg.Logger.WarnContext(ctx, "storagefirst: idempotency claim renewal failed", "key", c.Key, "error", err)
		}
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
