package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/storagefirst/storagefirst-go/internal/reap"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// IdempotencyStore is the SQLite storagefirst.IdempotencyStore of a Store. Its
// CompleteTx records an outcome in the transaction of the business writes.
type IdempotencyStore struct {
	s *Store
}

var _ storagefirst.IdempotencyStore = (*IdempotencyStore)(nil)

// Idempotency returns the store's IdempotencyStore.
func (s *Store) Idempotency() *IdempotencyStore { return &IdempotencyStore{s: s} }

type record struct {
	storagefirst.IdempotencyRecord
	live bool
}

func getRecord(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, scope, key string, now time.Time) (record, error) {
	var r record
	var lease, expires sql.NullInt64
	var result []byte
	err := q.QueryRowContext(ctx, `SELECT fingerprint, state, token, lease_until, outcome_error, outcome_result, expires_at
		FROM idempotency WHERE scope = ? AND key = ?`, scope, key).Scan(&r.Fingerprint, &r.State, &r.Token, &lease,
		&r.Outcome.Error, &result, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("%w: scope %q key %q", storagefirst.ErrNotFound, scope, key)
	}
	if err != nil {
		return r, err
	}
	r.Scope, r.Key, r.Outcome.Result = scope, key, result
	if lease.Valid {
		r.LeaseUntil = fromMicros(lease.Int64)
	}
	if expires.Valid && r.State == storagefirst.IdempotencyCompleted {
		r.ExpiresAt = fromMicros(expires.Int64)
	}
	r.live = r.State == storagefirst.IdempotencyCompleted && r.ExpiresAt.After(now) ||
		r.State == storagefirst.IdempotencyInProgress && r.LeaseUntil.After(now)
	return r, nil
}

// Begin claims (scope, key) or reports its record; see storagefirst.IdempotencyStore.
func (i *IdempotencyStore) Begin(ctx context.Context, scope, key, fingerprint string, lease time.Duration) (storagefirst.BeginResult, error) {
	if lease <= 0 {
		return storagefirst.BeginResult{}, fmt.Errorf("sqlitestore: Begin needs a positive lease, got %v", lease)
	}
	var res storagefirst.BeginResult
	var outErr error
	err := i.s.WriteTx(ctx, func(tx *sql.Tx) error {
		now := time.Now()
		r, err := getRecord(ctx, tx, scope, key, now)
		switch {
		case errors.Is(err, storagefirst.ErrNotFound):
		case err != nil:
			return err
		case r.live && r.Fingerprint != "" && fingerprint != "" && r.Fingerprint != fingerprint:
			res.Record, outErr = r.IdempotencyRecord, fmt.Errorf("%w: scope %q key %q", storagefirst.ErrFingerprintMismatch, scope, key)
			return nil
		case r.live && r.State == storagefirst.IdempotencyCompleted:
			res.Record = r.IdempotencyRecord
			return nil
		case r.live:
			res.Record, outErr = r.IdempotencyRecord, fmt.Errorf("%w: scope %q key %q", storagefirst.ErrInProgress, scope, key)
			return nil
		}
		token, err := tokens(ctx, tx, 1)
		if err != nil {
			return err
		}
		until := now.Add(lease)
		_, err = tx.ExecContext(ctx, `INSERT INTO idempotency (scope, key, fingerprint, state, token, lease_until)
			VALUES (?, ?, ?, 'in_progress', ?, ?)
			ON CONFLICT (scope, key) DO UPDATE SET fingerprint = excluded.fingerprint, state = 'in_progress',
				token = excluded.token, lease_until = excluded.lease_until, outcome_error = '', outcome_result = NULL, expires_at = NULL`,
			scope, key, fingerprint, token, micros(until))
		res = storagefirst.BeginResult{Acquired: true, Claim: storagefirst.Claim{Scope: scope, Key: key, Token: token, LeaseUntil: fromMicros(micros(until))}}
		return err
	})
	if err != nil {
		return storagefirst.BeginResult{}, fmt.Errorf("sqlitestore: idempotency begin: %w", err)
	}
	return res, outErr
}

type execer interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
	QueryRowContext(context.Context, string, ...any) *sql.Row
}

func complete(ctx context.Context, db execer, c storagefirst.Claim, o storagefirst.Outcome, ttl time.Duration) error {
	res, err := db.ExecContext(ctx, `UPDATE idempotency SET state = 'completed', outcome_error = ?, outcome_result = ?,
		expires_at = ?, lease_until = NULL WHERE scope = ? AND key = ? AND token = ? AND state = 'in_progress'`,
		o.Error, []byte(o.Result), micros(time.Now().Add(c.CompletionTTL(ttl))), c.Scope, c.Key, c.Token)
	if err != nil {
		return fmt.Errorf("sqlitestore: idempotency complete: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	var done int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM idempotency WHERE scope = ? AND key = ? AND token = ? AND state = 'completed'`,
		c.Scope, c.Key, c.Token).Scan(&done); err != nil {
		return err
	}
	if done == 1 {
		return nil
	}
	return fmt.Errorf("%w: scope %q key %q token %d", storagefirst.ErrLeaseLost, c.Scope, c.Key, c.Token)
}

// Complete stores outcome under claim.
func (i *IdempotencyStore) Complete(ctx context.Context, c storagefirst.Claim, o storagefirst.Outcome, ttl time.Duration) error {
	return complete(ctx, i.s.w, c, o, ttl)
}

// CompleteTx stores outcome under claim inside tx (from Store.WriteTx), the
// transaction of the business writes; when c is the claim in ctx the Idempotent
// middleware is told not to complete again. A ttl of zero records the claim's TTL
// (see storagefirst.Claim.CompletionTTL).
//
// When the handler runs under a storagefirst.Consumer of a Queue of this store
// (the delivery's lease is in ctx) and c is the claim of the Idempotent
// middleware the delivery was given to whole (storagefirst.ClaimAcksDelivery;
// nested or sibling scopes only record), CompleteTx also acknowledges the delivery in
// tx (see Queue.AckTx) and tells the Consumer so (storagefirst.MarkAcked): one
// commit carries the effect, the idempotency record and the acknowledgement. If
// the queue lease was lost meanwhile it fails with an error wrapping
// storagefirst.ErrLeaseLost: roll tx back. Completing (or AckTx) again in the same
// WriteTx transaction succeeds.
func (i *IdempotencyStore) CompleteTx(ctx context.Context, tx *sql.Tx, c storagefirst.Claim, o storagefirst.Outcome, ttl time.Duration) error {
	held, ok := storagefirst.ClaimFromContext(ctx)
	mine := ok && held.SameAs(c)
	if err := complete(ctx, tx, c, o, ttl); err != nil {
		return err
	}
	q, l, ack := i.deliveryToAck(ctx, mine)
	if ack {
		if err := i.s.ackTx(ctx, tx, q.name, l); err != nil {
			return err
		}
	}
	if mine {
		storagefirst.MarkOutcomeRecorded(ctx)
	}
	if ack {
		storagefirst.MarkAcked(ctx)
	}
	return nil
}

// CompleteFromContext is CompleteTx with the claim in ctx, a success outcome and
// the claim's TTL (the Idempotent middleware's configured TTL).
func (i *IdempotencyStore) CompleteFromContext(ctx context.Context, tx *sql.Tx) error {
	c, ok := storagefirst.ClaimFromContext(ctx)
	if !ok {
		return errors.New("sqlitestore: no idempotency claim in the context (is the handler behind storagefirst.Idempotent?)")
	}
	return i.CompleteTx(ctx, tx, c, storagefirst.Outcome{}, 0)
}

// Release gives up claim.
func (i *IdempotencyStore) Release(ctx context.Context, c storagefirst.Claim) error {
	res, err := i.s.w.ExecContext(ctx, `UPDATE idempotency SET state = 'released', fingerprint = '', lease_until = NULL,
		expires_at = ? WHERE scope = ? AND key = ? AND token = ? AND state = 'in_progress'`,
		micros(time.Now().Add(storagefirst.IdempotencyTTLDefault)), c.Scope, c.Key, c.Token)
	if err != nil {
		return fmt.Errorf("sqlitestore: idempotency release: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: scope %q key %q token %d", storagefirst.ErrLeaseLost, c.Scope, c.Key, c.Token)
	}
	return nil
}

// Extend renews claim for lease from now; see storagefirst.IdempotencyStore.
func (i *IdempotencyStore) Extend(ctx context.Context, c storagefirst.Claim, lease time.Duration) (storagefirst.Claim, error) {
	if lease <= 0 {
		return storagefirst.Claim{}, fmt.Errorf("sqlitestore: Extend needs a positive lease, got %v", lease)
	}
	until := micros(time.Now().Add(lease))
	res, err := i.s.w.ExecContext(ctx, `UPDATE idempotency SET lease_until = ?
		WHERE scope = ? AND key = ? AND token = ? AND state = 'in_progress'`, until, c.Scope, c.Key, c.Token)
	if err != nil {
		return storagefirst.Claim{}, fmt.Errorf("sqlitestore: idempotency extend: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		c.LeaseUntil = fromMicros(until)
		return c, nil
	}
	var done int
	if err := i.s.w.QueryRowContext(ctx, `SELECT count(*) FROM idempotency WHERE scope = ? AND key = ? AND token = ? AND state = 'completed'`,
		c.Scope, c.Key, c.Token).Scan(&done); err != nil {
		return storagefirst.Claim{}, fmt.Errorf("sqlitestore: idempotency extend: %w", err)
	}
	if done == 1 {
		return c, nil // completed under this claim: nothing left to hold
	}
	return storagefirst.Claim{}, fmt.Errorf("%w: scope %q key %q token %d", storagefirst.ErrLeaseLost, c.Scope, c.Key, c.Token)
}

// Get returns the record of (scope, key).
func (i *IdempotencyStore) Get(ctx context.Context, scope, key string) (storagefirst.IdempotencyRecord, error) {
	r, err := getRecord(ctx, i.s.r, scope, key, time.Now())
	if err != nil {
		return storagefirst.IdempotencyRecord{}, err
	}
	if r.State == storagefirst.IdempotencyCompleted && !r.live {
		return storagefirst.IdempotencyRecord{}, fmt.Errorf("%w: scope %q key %q (expired)", storagefirst.ErrNotFound, scope, key)
	}
	return r.IdempotencyRecord, nil
}

// Delete removes the record of (scope, key).
func (i *IdempotencyStore) Delete(ctx context.Context, scope, key string) error {
	_, err := i.s.w.ExecContext(ctx, `DELETE FROM idempotency WHERE scope = ? AND key = ?`, scope, key)
	return err
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
	now := time.Now()
	res, err := i.s.w.ExecContext(ctx, `DELETE FROM idempotency WHERE rowid IN (SELECT rowid FROM idempotency
		WHERE (state <> 'in_progress' AND expires_at <= ?) OR (state = 'in_progress' AND lease_until <= ?) LIMIT ?)`,
		micros(now), micros(now.Add(-max(staleAfter, 0))), limit)
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: idempotency reap: %w", err)
	}
	return res.RowsAffected()
}

// RunReaper calls Reap every interval (ReapIntervalDefault when zero or
// negative) until ctx ends, at once again after a call that deleted a full
// ReapLimitDefault, and logs failures with Config.Logger.
func (i *IdempotencyStore) RunReaper(ctx context.Context, interval, staleAfter time.Duration) {
	if interval <= 0 {
		interval = ReapIntervalDefault
	}
	reap.Run(ctx, interval, ReapLimitDefault, func(ctx context.Context) (int64, error) {
		return i.Reap(ctx, staleAfter, ReapLimitDefault)
	}, func(err error) {
		i.s.cfg.Logger.WarnContext(ctx, "sqlitestore: reaping idempotency records failed", "error", err)
	})
}
