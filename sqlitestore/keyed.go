package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// commitError marks a failed commit as of unknown outcome (the driver's COMMIT
// failed, say with an I/O error: whether it reached the database file is not
// known), unless database/sql refused to commit at all: the context had ended or
// the transaction was already over, and it rolls back.
func commitError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrTxDone), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("sqlitestore: commit: %w", err)
	}
	return fmt.Errorf("sqlitestore: commit: %w: %w", storagefirst.ErrOutcomeUnknown, err)
}

// PutKeyed stores p.Envelope and a completed idempotency record of (p.Scope, p.Key)
// holding p.Fingerprint and p.Answer, in one transaction: both or neither. When the
// key already has a live record it stores nothing and returns the record (Stored
// false), or an error wrapping storagefirst.ErrFingerprintMismatch when the record
// is for another fingerprint, or storagefirst.ErrInProgress when a worker holds the
// key through IdempotencyStore.Begin.
//
// A failed call stores nothing and leaves the key free, except when its error wraps
// storagefirst.ErrOutcomeUnknown: then the commit may have happened, and a retry
// with the same key finds out (it either returns the stored record or stores).
func (q *Queue) PutKeyed(ctx context.Context, p storagefirst.KeyedPut) (storagefirst.KeyedResult, error) {
	var res storagefirst.KeyedResult
	errFound := errors.New("found") // roll back: nothing to write
	err := q.s.WriteTx(ctx, func(tx *sql.Tx) error {
		var err error
		if res, err = q.PutKeyedTx(ctx, tx, p); err == nil && !res.Stored {
			return errFound
		}
		return err
	})
	if errors.Is(err, errFound) {
		return res, nil
	}
	if err != nil {
		return storagefirst.KeyedResult{}, fmt.Errorf("sqlitestore: keyed put: %w", err)
	}
	q.s.wake(q.name) // committed: wake the consumers again, in case they looked too early
	return res, nil
}

// PutKeyedTx is PutKeyed inside tx (from Store.WriteTx): the record and the
// envelope commit with the caller's own writes (an order row, say), or not at all.
// Write those only when the result says Stored. The queue's consumers are woken
// when the call returns; commit promptly.
func (q *Queue) PutKeyedTx(ctx context.Context, tx *sql.Tx, p storagefirst.KeyedPut) (storagefirst.KeyedResult, error) {
	if p.Scope == "" || p.Key == "" {
		return storagefirst.KeyedResult{}, storagefirst.Permanentf("%w: a keyed put needs a scope and a key", storagefirst.ErrInvalidEnvelope)
	}
	items, failed := q.prepare([]storagefirst.Envelope{p.Envelope})
	if err := storagefirst.NewPutError(1, failed); err != nil {
		return storagefirst.KeyedResult{}, err
	}
	res, err := recordKey(ctx, tx, p)
	if err != nil || !res.Stored {
		return res, err
	}
	if _, err := insert(ctx, tx, items); err != nil {
		if rowRejected(err) { // for good: a retry would be refused alike
			return storagefirst.KeyedResult{}, storagefirst.Permanent(fmt.Errorf("sqlitestore: put in transaction: %w: the database rejected it: %w",
				storagefirst.ErrInvalidEnvelope, err))
		}
		return storagefirst.KeyedResult{}, fmt.Errorf("sqlitestore: put in transaction: %w", err)
	}
	defer q.s.wake(q.name)
	return res, nil
}

// recordKey writes the completed record of p's key in tx, unless a live record
// holds it. The store's one writing connection serialises keyed puts.
func recordKey(ctx context.Context, tx *sql.Tx, p storagefirst.KeyedPut) (storagefirst.KeyedResult, error) {
	ttl := p.TTL
	if ttl <= 0 {
		ttl = storagefirst.IdempotencyTTLDefault
	}
	now := time.Now()
	r, err := getRecord(ctx, tx, p.Scope, p.Key, now)
	switch {
	case errors.Is(err, storagefirst.ErrNotFound), err == nil && !r.live:
	case err != nil:
		return storagefirst.KeyedResult{}, fmt.Errorf("sqlitestore: idempotency record: %w", err)
	case r.Fingerprint != "" && p.Fingerprint != "" && r.Fingerprint != p.Fingerprint:
		return storagefirst.KeyedResult{Record: r.IdempotencyRecord},
			fmt.Errorf("%w: scope %q key %q", storagefirst.ErrFingerprintMismatch, p.Scope, p.Key)
	case r.State == storagefirst.IdempotencyInProgress:
		return storagefirst.KeyedResult{Record: r.IdempotencyRecord},
			fmt.Errorf("%w: scope %q key %q", storagefirst.ErrInProgress, p.Scope, p.Key)
	default:
		return storagefirst.KeyedResult{Record: r.IdempotencyRecord}, nil
	}
	token, err := tokens(ctx, tx, 1)
	if err != nil {
		return storagefirst.KeyedResult{}, fmt.Errorf("sqlitestore: idempotency record: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO idempotency (scope, key, fingerprint, state, token, lease_until,
			outcome_error, outcome_result, expires_at)
		VALUES (?, ?, ?, 'completed', ?, NULL, '', ?, ?)
		ON CONFLICT (scope, key) DO UPDATE SET fingerprint = excluded.fingerprint, state = 'completed',
			token = excluded.token, lease_until = NULL, outcome_error = '', outcome_result = excluded.outcome_result,
			expires_at = excluded.expires_at`,
		p.Scope, p.Key, p.Fingerprint, token, []byte(p.Answer), micros(now.Add(ttl))); err != nil {
		return storagefirst.KeyedResult{}, fmt.Errorf("sqlitestore: idempotency record: %w", err)
	}
	return storagefirst.KeyedResult{Stored: true}, nil
}
