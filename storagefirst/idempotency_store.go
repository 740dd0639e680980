package storagefirst

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"
)

// IdempotencyState is the state of an idempotency record.
type IdempotencyState string

const (
	// IdempotencyInProgress: a worker holds the key under a lease.
	IdempotencyInProgress IdempotencyState = "in_progress"
	// IdempotencyCompleted: the effect was applied (or failed permanently) and the
	// outcome is stored; repeats get the stored outcome.
	IdempotencyCompleted IdempotencyState = "completed"
	// IdempotencyReleased: the last attempt failed in a retryable way; the next
	// Begin claims the key again.
	IdempotencyReleased IdempotencyState = "released"
)

// Outcome is what an idempotent operation ended with, stored on completion and
// returned to every repeat.
type Outcome struct {
	// Error is the message of a permanent failure; empty on success.
	Error string `json:"error,omitempty"`
	// Result is an optional JSON answer to hand back to repeats (an HTTP front door
	// stores the response it gave).
	Result json.RawMessage `json:"result,omitempty"`
}

// Failed reports whether the outcome is a stored permanent failure.
func (o Outcome) Failed() bool { return o.Error != "" }

// IdempotencyRecord is the stored state of one idempotency key.
type IdempotencyRecord struct {
	Scope       string
	Key         string
	Fingerprint string
	State       IdempotencyState
	// Token is the fencing token of the latest claim.
	Token int64
	// LeaseUntil is when an in-progress claim may be taken over.
	LeaseUntil time.Time
	// Outcome is set once the record is completed.
	Outcome Outcome
	// ExpiresAt is when a completed record stops counting; zero while in progress.
	ExpiresAt time.Time
}

// Claim is the right to run the operation of an idempotency key, fenced by Token.
type Claim struct {
	Scope      string
	Key        string
	Token      int64
	LeaseUntil time.Time
	// TTL is how long the completed record is kept when a completion is given no
	// TTL of its own (see CompletionTTL): the Idempotent middleware sets it to its
	// configured TTL on the claim it puts in the handler's context, so that every
	// completion path (pgstore's CompleteTx, CompleteFromContext and CompleteBatch,
	// sqlitestore's) keeps the record as long as the middleware was told to. Begin
	// leaves it zero.
	TTL time.Duration
}

// CompletionTTL returns the TTL a completion of c records: ttl when positive, else
// c.TTL when positive, else IdempotencyTTLDefault. Stores call it in Complete and
// in their transactional completions.
func (c Claim) CompletionTTL(ttl time.Duration) time.Duration {
	switch {
	case ttl > 0:
		return ttl
	case c.TTL > 0:
		return c.TTL
	}
	return IdempotencyTTLDefault
}

// SameAs reports whether c and o are the same claim: the same scope, key and
// token, whatever their LeaseUntil (a renewal moves it) and TTL.
func (c Claim) SameAs(o Claim) bool {
	return c.Scope == o.Scope && c.Key == o.Key && c.Token == o.Token
}

// BeginResult is what IdempotencyStore.Begin found.
type BeginResult struct {
	// Acquired is true when the caller now holds Claim and must run the operation,
	// then Complete or Release it.
	Acquired bool
	Claim    Claim
	// Record is the existing record when the key was not acquired: completed (its
	// Outcome is the answer) or, with ErrInProgress, held by another worker.
	Record IdempotencyRecord
}

// IdempotencyStore keeps idempotency records, keyed by (scope, key).
//
// Begin claims a key when it has no record, or its record is released, expired
// (ExpiresAt past), or in progress under a lease that has run out (the previous
// worker is presumed dead; its token is fenced off). Every claim gets a token
// greater than any the store handed out before, for any key, so a worker whose
// lease ran out can never complete or release a record that another worker claimed
// since. Begin returns:
//   - Acquired with a Claim: run the operation;
//   - not Acquired, with the completed Record: the operation already ran;
//   - an error wrapping ErrInProgress, with the Record: another worker holds it;
//   - an error wrapping ErrFingerprintMismatch, with the Record: the key was used for
//     a different request (a fingerprint is compared only when both are non-empty;
//     a released record keeps none).
//
// Complete stores the outcome and makes the record completed until ttl from now
// (claim.CompletionTTL(ttl): a ttl of zero means the claim's TTL, else
// IdempotencyTTLDefault). It fails with ErrLeaseLost unless the record is still in
// progress under claim.Token (a claim whose lease ran out holds until another worker
// takes the key over); completing a record that is already completed under the same
// token (by a transactional completion inside the handler) succeeds and changes
// nothing. Release gives the key up after a retryable failure, under the same
// fencing rule.
//
// Extend renews the claim while its operation runs: the lease now ends lease from
// now, and the returned Claim carries the new LeaseUntil. It follows the same
// fencing rule (ErrLeaseLost once another worker has taken the key over, or the
// claim was released), so a holder that renews in time is never taken over however
// long it runs; extending a record already completed under the same token succeeds
// and changes nothing (there is nothing left to hold).
//
// Durations are measured on the store's own clock. Implementations are safe for
// concurrent use, also from several processes where the backend is shared.
type IdempotencyStore interface {
	Begin(ctx context.Context, scope, key, fingerprint string, lease time.Duration) (BeginResult, error)
	Complete(ctx context.Context, claim Claim, outcome Outcome, ttl time.Duration) error
	Release(ctx context.Context, claim Claim) error
	Extend(ctx context.Context, claim Claim, lease time.Duration) (Claim, error)
	// Get returns the record of (scope, key), or an error wrapping ErrNotFound.
	Get(ctx context.Context, scope, key string) (IdempotencyRecord, error)
	// Delete removes the record of (scope, key) whatever its state (nil when there
	// is none): an operator's decision, used when a dead letter whose stored
	// outcome is a permanent failure is replayed.
	Delete(ctx context.Context, scope, key string) error
}

type claimContextKey struct{}

// claimHolder is what the Idempotent middleware puts in the handler's context. Its
// claim's LeaseUntil moves when the middleware renews the claim.
type claimHolder struct {
	mu       sync.Mutex
	claim    Claim
	recorded atomic.Bool
	// acksDelivery: the claim belongs to the Idempotent middleware the delivery
	// was given to whole (see WithDeliveryLease), so completing it in the
	// handler's transaction may acknowledge the delivery there too.
	acksDelivery bool
}

func (h *claimHolder) current() Claim {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.claim
}

func (h *claimHolder) renewed(c Claim) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.claim.SameAs(c) {
		h.claim.LeaseUntil = c.LeaseUntil
	}
}

func claimHolderFrom(ctx context.Context) (*claimHolder, bool) {
	h, ok := ctx.Value(claimContextKey{}).(*claimHolder)
	return h, ok
}

func withClaimHolder(ctx context.Context, claim Claim) (context.Context, *claimHolder) {
	h := &claimHolder{claim: claim}
	return context.WithValue(ctx, claimContextKey{}, h), h
}

// WithClaim returns ctx carrying claim; the Idempotent middleware calls it so that a
// handler can complete the record in its own transaction (pgstore's CompleteTx).
// Completions that take the claim from the context record claim.TTL.
func WithClaim(ctx context.Context, claim Claim) context.Context {
	ctx, _ = withClaimHolder(ctx, claim)
	return ctx
}

// ClaimFromContext returns the idempotency claim the Idempotent middleware holds for
// the envelope being handled, with its latest LeaseUntil and the middleware's TTL.
func ClaimFromContext(ctx context.Context) (Claim, bool) {
	h, ok := claimHolderFrom(ctx)
	if !ok {
		return Claim{}, false
	}
	return h.current(), true
}

// ClaimAcksDelivery reports whether a completion of the claim in ctx, in the
// transaction that applies the effect, may acknowledge the delivery in ctx
// (DeliveryLeaseFromContext) in that transaction too: true only when the claim
// is held by the Idempotent middleware the delivery was given to whole (the
// Consumer's handler, possibly behind Retry). A store's in-transaction
// completion (pgstore's CompleteTx, sqlitestore's) asks it; an inner or sibling
// Idempotent scope only records its outcome, so that acknowledging one scope's
// effect can never lose another's.
func ClaimAcksDelivery(ctx context.Context) bool {
	h, ok := claimHolderFrom(ctx)
	return ok && h.acksDelivery
}

// clearOutcomeRecorded forgets a MarkOutcomeRecorded of an attempt that failed.
func clearOutcomeRecorded(ctx context.Context) {
	if h, ok := claimHolderFrom(ctx); ok {
		h.recorded.Store(false)
	}
}

// MarkOutcomeRecorded tells the Idempotent middleware that the handler recorded the
// outcome itself, in the transaction that applied the effect (pgstore's CompleteTx
// calls it). When the handler then returns nil, the middleware does not complete
// the record a second time, saving a round trip. A handler that returns nil must
// have committed that transaction.
func MarkOutcomeRecorded(ctx context.Context) {
	if h, ok := claimHolderFrom(ctx); ok {
		h.recorded.Store(true)
	}
}

func outcomeRecorded(ctx context.Context) bool {
	h, ok := claimHolderFrom(ctx)
	return ok && h.recorded.Load()
}
