package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storagefirst/storagefirst-go/internal/reap"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// ReleasedTTLDefault is how long a released idempotency record is kept before the
// reaper may delete it.
const ReleasedTTLDefault = storagefirst.IdempotencyTTLDefault

// IdempotencyStore is the Postgres storagefirst.IdempotencyStore: a Store's
// (Store.Idempotency), or one on its own (NewIdempotencyStore). Its CompleteTx
// records an outcome in the caller's transaction. It is safe for concurrent use.
type IdempotencyStore struct {
	pool         *pgxpool.Pool
	schema       string // unquoted
	q            idemQueries
	writeTimeout time.Duration
	logger       *slog.Logger // nil: slog.Default(), looked up when used
	// claim runs the upsert of one Begin: through its Store's batcher, so that
	// concurrent Begins share a statement, or by itself (NewIdempotencyStore).
	claim func(context.Context, beginItem) (beginOutcome, error)
}

var _ storagefirst.IdempotencyStore = (*IdempotencyStore)(nil)

// Idempotency returns the store's IdempotencyStore. Concurrent Begins on it share
// one statement and one commit (see BatchStats).
func (s *Store) Idempotency() *IdempotencyStore { return s.idem }

// NewIdempotencyStore returns an IdempotencyStore on pool without a Store, for a
// handler whose deliveries come from elsewhere (a Lambda function behind an
// EventBridge rule or an SQS queue) and that keeps its idempotency records, and
// its effects, in Postgres. Of cfg it uses Schema, WriteTimeout,
// SynchronousBookkeeping and Logger (RunReaper's); it validates them as New does.
// It starts no goroutine and needs no Close: each Begin runs its own statement,
// bounded by WriteTimeout (a Store's batches concurrent Begins, which pays only
// with many workers in one process). It links none of the queues' code, so a
// Lambda bootstrap that uses only this stays small. The schema must have been
// migrated (Migrate). CompleteTx still acknowledges a delivery of a Queue whose
// Store uses the same pool and schema.
func NewIdempotencyStore(pool *pgxpool.Pool, cfg Config) (*IdempotencyStore, error) {
	errs := checkPoolAndSchema("NewIdempotencyStore", pool, &cfg)
	if cfg.WriteTimeout < 0 {
		errs = append(errs, errors.New("pgstore: WriteTimeout must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = WriteTimeoutDefault
	}
	q := newIdemQueries(queryReplacer(pgx.Identifier{cfg.Schema}.Sanitize(), cfg.SynchronousBookkeeping))
	i := &IdempotencyStore{pool: pool, schema: cfg.Schema, q: q, writeTimeout: cfg.WriteTimeout, logger: cfg.Logger}
	i.claim = i.claimAlone
	return i, nil
}

// claimAlone runs the upsert of one Begin in its own statement, bounded by
// WriteTimeout.
func (i *IdempotencyStore) claimAlone(ctx context.Context, it beginItem) (beginOutcome, error) {
	ctx, cancel := context.WithTimeout(ctx, i.writeTimeout)
	defer cancel()
	return claimOne(ctx, i.pool, i.q.idemBegin, it)
}

// Begin claims (scope, key) or reports its record; see storagefirst.IdempotencyStore.
func (i *IdempotencyStore) Begin(ctx context.Context, scope, key, fingerprint string, lease time.Duration) (storagefirst.BeginResult, error) {
	if lease <= 0 {
		return storagefirst.BeginResult{}, fmt.Errorf("pgstore: Begin needs a positive lease, got %v", lease)
	}
	if err := ctx.Err(); err != nil {
		return storagefirst.BeginResult{}, fmt.Errorf("pgstore: idempotency begin: %w", err)
	}
	if err := checkBeginKey(scope, key, fingerprint); err != nil {
		return storagefirst.BeginResult{}, storagefirst.Permanent(err)
	}
	// The record can change between the upsert and the read; a few rounds settle it.
	for range 5 {
		// Concurrent Begins (a Consumer's workers starting on a claimed batch) share
		// one statement and one commit.
		// The batch's result is awaited even when ctx ends first (the batch's own
		// WriteTimeout bounds it): a claim taken for a caller that has gone is
		// released below instead of holding the key until its lease runs out.
		o, err := i.claim(context.WithoutCancel(ctx), beginItem{scope: scope, key: key, fingerprint: fingerprint, lease: lease})
		if rowRejected(err) {
			return storagefirst.BeginResult{}, storagefirst.Permanent(fmt.Errorf("%w: scope %q key %q: %w", ErrInvalidIdempotencyKey, scope, key, err))
		}
		if err != nil {
			return storagefirst.BeginResult{}, fmt.Errorf("pgstore: idempotency begin: %w", err)
		}
		if o.acquired {
			c := storagefirst.Claim{Scope: scope, Key: key, Token: o.token, LeaseUntil: o.leaseUntil}
			if cerr := ctx.Err(); cerr != nil {
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), i.writeTimeout)
				rerr := i.Release(rctx, c)
				cancel()
				return storagefirst.BeginResult{}, fmt.Errorf("pgstore: idempotency begin: %w", errors.Join(cerr, rerr))
			}
			return storagefirst.BeginResult{Acquired: true, Claim: c}, nil
		}
		r, live, err := i.get(ctx, scope, key)
		if errors.Is(err, storagefirst.ErrNotFound) || err == nil && !live {
			continue // freed or deleted meanwhile: claim again
		}
		if err != nil {
			return storagefirst.BeginResult{}, err
		}
		res := storagefirst.BeginResult{Record: r}
		if r.Fingerprint != "" && fingerprint != "" && r.Fingerprint != fingerprint {
			return res, fmt.Errorf("%w: scope %q key %q", storagefirst.ErrFingerprintMismatch, scope, key)
		}
		if r.State == storagefirst.IdempotencyInProgress {
			return res, fmt.Errorf("%w: scope %q key %q until %s", storagefirst.ErrInProgress, scope, key, r.LeaseUntil.Format(time.RFC3339Nano))
		}
		return res, nil
	}
	return storagefirst.BeginResult{}, storagefirst.Retryable(fmt.Errorf("pgstore: idempotency begin %q: the record kept changing", key))
}

// get reads a record and whether it is live (completed and not expired, or in
// progress under a lease that has not run out).
func (i *IdempotencyStore) get(ctx context.Context, scope, key string) (storagefirst.IdempotencyRecord, bool, error) {
	return readRecord(ctx, i.pool, i.q.idemGet, scope, key)
}

// readRecord reads a record with get (idemGet) through q (the pool, or a
// transaction), and whether it is live.
func readRecord(ctx context.Context, q queryRower, get, scope, key string) (storagefirst.IdempotencyRecord, bool, error) {
	r := storagefirst.IdempotencyRecord{Scope: scope, Key: key}
	var (
		state             string
		leaseUntil, expAt *time.Time
		live              bool
	)
	err := q.QueryRow(ctx, get, scope, key).Scan(&r.Fingerprint, &state, &r.Token, &leaseUntil,
		&r.Outcome.Error, &r.Outcome.Result, &expAt, &live)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, false, fmt.Errorf("%w: scope %q key %q", storagefirst.ErrNotFound, scope, key)
	}
	if err != nil {
		return r, false, fmt.Errorf("pgstore: idempotency get: %w", err)
	}
	r.State = storagefirst.IdempotencyState(state)
	if leaseUntil != nil {
		r.LeaseUntil = *leaseUntil
	}
	if expAt != nil && r.State == storagefirst.IdempotencyCompleted {
		r.ExpiresAt = *expAt
	}
	return r, live, nil
}

// Get returns the record of (scope, key); an expired completed record is not found.
func (i *IdempotencyStore) Get(ctx context.Context, scope, key string) (storagefirst.IdempotencyRecord, error) {
	r, live, err := i.get(ctx, scope, key)
	if err == nil && r.State == storagefirst.IdempotencyCompleted && !live {
		return storagefirst.IdempotencyRecord{}, fmt.Errorf("%w: scope %q key %q (expired)", storagefirst.ErrNotFound, scope, key)
	}
	return r, err
}

// Complete stores outcome under claim, in its own transaction.
func (i *IdempotencyStore) Complete(ctx context.Context, c storagefirst.Claim, outcome storagefirst.Outcome, ttl time.Duration) error {
	return i.complete(ctx, i.pool, c, outcome, ttl)
}

// CompleteTx stores outcome under claim inside tx, the transaction that applied the
// effect: both commit or neither does. Call it from a handler behind the
// storagefirst.Idempotent middleware with the claim from
// storagefirst.ClaimFromContext; the middleware's own Complete then finds the record
// completed under the same token and succeeds. A ttl of zero records the claim's
// TTL (the middleware's configured one for the claim in ctx; see
// storagefirst.Claim.CompletionTTL). Returns an error wrapping
// storagefirst.ErrLeaseLost when another worker has taken the key: roll back.
//
// When c is the claim in ctx, CompleteTx also tells the middleware (with
// storagefirst.MarkOutcomeRecorded) that it need not complete the record again.
// And when the handler runs under a storagefirst.Consumer of a Queue of this
// store (the delivery's lease is in ctx: storagefirst.DeliveryLeaseFromContext),
// and c is the claim of the Idempotent middleware the delivery was given to whole
// (storagefirst.ClaimAcksDelivery: the Consumer's Handler, possibly behind Retry;
// not a nested scope, nor one of several a handler runs in turn, which only
// record), the same statement acknowledges the delivery in tx (see AckTx), and the
// Consumer is told so (storagefirst.MarkAcked): one commit then carries the
// effect, the idempotency record and the acknowledgement. If the queue lease was
// lost meanwhile, the statement fails with an error wrapping
// storagefirst.ErrLeaseLost and tx cannot commit. Completing again in the same
// transaction (or after AckTx) succeeds: the acknowledgement is idempotent within
// a transaction.
func (i *IdempotencyStore) CompleteTx(ctx context.Context, tx pgx.Tx, c storagefirst.Claim, outcome storagefirst.Outcome, ttl time.Duration) error {
	held, ok := storagefirst.ClaimFromContext(ctx)
	mine := ok && held.SameAs(c)
	if q, l, ack := i.deliveryToAck(ctx, mine); ack {
		var discard [2]any
		err := tx.QueryRow(ctx, i.q.idemCompleteAck, append(completeArgs(c, outcome, ttl), q, l.ID, l.Token)...).Scan(&discard[0], &discard[1])
		if err := completeAckErr(c, l, err, "idempotency complete and ack"); err != nil {
			return err
		}
		storagefirst.MarkOutcomeRecorded(ctx)
		storagefirst.MarkAcked(ctx)
		return nil
	}
	if err := i.complete(ctx, tx, c, outcome, ttl); err != nil {
		return err
	}
	if mine {
		storagefirst.MarkOutcomeRecorded(ctx)
	}
	return nil
}

// deliveryToAck returns the queue name and lease of the delivery in ctx when a
// completion of the claim in ctx (mine) should acknowledge it in the same
// transaction: the queue is a Queue of a Store on the same pool and schema, so
// that its envelopes live in the database of the idempotency records.
func (i *IdempotencyStore) deliveryToAck(ctx context.Context, mine bool) (string, storagefirst.Lease, bool) {
	if !mine || !storagefirst.ClaimAcksDelivery(ctx) {
		return "", storagefirst.Lease{}, false
	}
	sq, l, ok := storagefirst.DeliveryLeaseFromContext(ctx)
	if !ok {
		return "", storagefirst.Lease{}, false
	}
	// An interface, not *Queue: an IdempotencyStore used without queues
	// (NewIdempotencyStore) then links none of their code.
	q, ok := sq.(ackTarget)
	if !ok {
		return "", storagefirst.Lease{}, false
	}
	pool, schema, name := q.ackTarget()
	if pool != i.pool || schema != i.schema {
		return "", storagefirst.Lease{}, false
	}
	return name, l, true
}

// ackTarget is a Queue as deliveryToAck sees it.
type ackTarget interface {
	ackTarget() (pool *pgxpool.Pool, schema, queue string)
}

func (q *Queue) ackTarget() (*pgxpool.Pool, string, string) { return q.s.pool, q.s.cfg.Schema, q.name }

// CompleteFromContext is CompleteTx with the claim the Idempotent middleware put in
// ctx, an empty (success) outcome and the claim's TTL (the middleware's configured
// IdempotentConfig.TTL).
func (i *IdempotencyStore) CompleteFromContext(ctx context.Context, tx pgx.Tx) error {
	c, ok := storagefirst.ClaimFromContext(ctx)
	if !ok {
		return errNoClaim
	}
	return i.CompleteTx(ctx, tx, c, storagefirst.Outcome{}, 0)
}

type queryRower interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

var (
	_ queryRower = (*pgxpool.Pool)(nil)
	_ queryRower = (pgx.Tx)(nil)
)

func (i *IdempotencyStore) complete(ctx context.Context, db queryRower, c storagefirst.Claim, o storagefirst.Outcome, ttl time.Duration) error {
	var discard any
	err := db.QueryRow(ctx, i.q.idemComplete, completeArgs(c, o, ttl)...).Scan(&discard)
	return completeErr(c, err, "idempotency complete")
}

// leaseLostCode is the SQLSTATE idempotency_complete raises when a claim is lost.
const leaseLostCode = "SF001"

func completeArgs(c storagefirst.Claim, o storagefirst.Outcome, ttl time.Duration) []any {
	return []any{c.Scope, c.Key, c.Token, o.Error, []byte(o.Result), c.CompletionTTL(ttl)}
}

// ackLostCode is the SQLSTATE ack_leased raises when a queue lease is lost.
const ackLostCode = "SF002"

// completeAckErr is completeErr for a completion that also acknowledged lease.
func completeAckErr(c storagefirst.Claim, l storagefirst.Lease, err error, op string) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == ackLostCode {
		return leaseLost(l)
	}
	return completeErr(c, err, op)
}

func completeErr(c storagefirst.Claim, err error, op string) error {
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pgErr) && pgErr.Code == leaseLostCode:
		return fmt.Errorf("%w: scope %q key %q token %d", storagefirst.ErrLeaseLost, c.Scope, c.Key, c.Token)
	}
	return fmt.Errorf("pgstore: %s: %w", op, err)
}

// BatchSender sends a pgx.Batch: a *pgxpool.Pool, a *pgx.Conn or a pgx.Tx.
type BatchSender interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// CompleteBatch applies an effect and records it done in one round trip: it appends
// the completion of the claim in ctx (from the storagefirst.Idempotent middleware)
// to b, which holds the effect's statements, and sends it. Sent on a pool or a
// connection outside a transaction, the batch runs as one implicit transaction, and
// a lost claim fails all of it (ErrLeaseLost): "effect applied" and "recorded as
// done" still cannot disagree. Results of b's own queued statements are read as
// usual through their callbacks. The record is kept for the claim's TTL (the
// middleware's configured one). On success the middleware is told the outcome is
// recorded (storagefirst.MarkOutcomeRecorded). Under a storagefirst.Consumer of a
// Queue of this store, the batch also acknowledges the delivery, as CompleteTx
// does (and a lost queue lease fails all of it with storagefirst.ErrLeaseLost).
func (i *IdempotencyStore) CompleteBatch(ctx context.Context, db BatchSender, b *pgx.Batch, outcome storagefirst.Outcome) error {
	c, ok := storagefirst.ClaimFromContext(ctx)
	if !ok {
		return errNoClaim
	}
	q, l, ack := i.deliveryToAck(ctx, true)
	if ack {
		b.Queue(i.q.idemCompleteAck, append(completeArgs(c, outcome, 0), q, l.ID, l.Token)...)
	} else {
		b.Queue(i.q.idemComplete, completeArgs(c, outcome, 0)...)
	}
	if err := completeAckErr(c, l, db.SendBatch(ctx, b).Close(), "complete batch"); err != nil {
		return err
	}
	storagefirst.MarkOutcomeRecorded(ctx)
	if ack {
		storagefirst.MarkAcked(ctx)
	}
	return nil
}

var errNoClaim = errors.New("pgstore: no idempotency claim in the context (is the handler behind storagefirst.Idempotent?)")

// Release gives up claim after a retryable failure.
func (i *IdempotencyStore) Release(ctx context.Context, c storagefirst.Claim) error {
	tag, err := i.pool.Exec(ctx, i.q.idemRelease, c.Scope, c.Key, c.Token, ReleasedTTLDefault)
	if err != nil {
		return fmt.Errorf("pgstore: idempotency release: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: scope %q key %q token %d", storagefirst.ErrLeaseLost, c.Scope, c.Key, c.Token)
	}
	return nil
}

// Extend renews claim for lease from now; see storagefirst.IdempotencyStore.
func (i *IdempotencyStore) Extend(ctx context.Context, c storagefirst.Claim, lease time.Duration) (storagefirst.Claim, error) {
	if lease <= 0 {
		return storagefirst.Claim{}, fmt.Errorf("pgstore: Extend needs a positive lease, got %v", lease)
	}
	err := i.pool.QueryRow(ctx, i.q.idemExtend, c.Scope, c.Key, c.Token, lease).Scan(&c.LeaseUntil)
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return storagefirst.Claim{}, fmt.Errorf("pgstore: idempotency extend: %w", err)
	}
	r, _, err := i.get(ctx, c.Scope, c.Key)
	switch {
	case err == nil && r.Token == c.Token && r.State == storagefirst.IdempotencyCompleted:
		return c, nil // completed under this claim: nothing left to hold
	case err != nil && !errors.Is(err, storagefirst.ErrNotFound):
		return storagefirst.Claim{}, err
	}
	return storagefirst.Claim{}, fmt.Errorf("%w: scope %q key %q token %d", storagefirst.ErrLeaseLost, c.Scope, c.Key, c.Token)
}

// Delete removes the record of (scope, key), whatever its state.
func (i *IdempotencyStore) Delete(ctx context.Context, scope, key string) error {
	if _, err := i.pool.Exec(ctx, i.q.idemDelete, scope, key); err != nil {
		return fmt.Errorf("pgstore: idempotency delete: %w", err)
	}
	return nil
}

// Defaults of Reap and RunReaper.
const (
	// ReapLimitDefault bounds the records one Reap call deletes.
	ReapLimitDefault = 10000
	// ReapIntervalDefault is how often RunReaper reaps when given no interval.
	ReapIntervalDefault = time.Minute
)

// Reap deletes expired records: completed and released ones past their expiry,
// and in-progress ones whose lease ran out more than staleAfter ago (their worker
// is gone). It deletes at most limit (ReapLimitDefault when zero or negative) and
// returns how many.
func (i *IdempotencyStore) Reap(ctx context.Context, staleAfter time.Duration, limit int) (int64, error) {
	if limit <= 0 {
		limit = ReapLimitDefault
	}
	tag, err := i.pool.Exec(ctx, i.q.idemReap, max(staleAfter, 0), limit)
	if err != nil {
		return 0, fmt.Errorf("pgstore: idempotency reap: %w", err)
	}
	return tag.RowsAffected(), nil
}

// RunReaper calls Reap every interval (ReapIntervalDefault when zero or
// negative) until ctx ends, at once again after a call that deleted a full
// ReapLimitDefault, and logs failures with the store's Logger.
func (i *IdempotencyStore) RunReaper(ctx context.Context, interval, staleAfter time.Duration) {
	if interval <= 0 {
		interval = ReapIntervalDefault
	}
	reap.Run(ctx, interval, ReapLimitDefault, func(ctx context.Context) (int64, error) {
		return i.Reap(ctx, staleAfter, ReapLimitDefault)
	}, func(err error) {
		logger := i.logger
		if logger == nil {
			logger = slog.Default()
		}
		logger.WarnContext(ctx, "pgstore: reaping idempotency records failed", "error", err)
	})
}
