package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// WriteTx runs fn in a transaction on the store's pool and commits it unless fn
// fails; it bounds the whole by Config.WriteTimeout. Use the Tx variants of the
// store's methods inside (PutTx, PutKeyedTx, CompleteTx).
//
// When the commit itself fails in a way that leaves its outcome unknown (the
// connection died after the COMMIT was sent, or ctx ended while waiting for its
// answer), the error wraps storagefirst.ErrOutcomeUnknown: the transaction may
// have committed. Any other error means it did not.
func (s *Store) WriteTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.WriteTimeout)
	defer cancel()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx)) // a dead connection rolls back by itself
		return err
	}
	return commitError(tx.Commit(ctx))
}

// commitError tells a commit the server refused (nothing committed) from one whose
// outcome the client cannot know.
func commitError(err error) error {
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pgErr), errors.Is(err, pgx.ErrTxCommitRollback), pgconn.SafeToRetry(err):
		// The server answered with an error (it rolled back), the transaction had
		// already failed, or the COMMIT was never sent.
		return fmt.Errorf("pgstore: commit: %w", err)
	}
	return fmt.Errorf("pgstore: commit: %w: %w", storagefirst.ErrOutcomeUnknown, err)
}

// statementError marks the failure of a statement that commits by itself (an
// implicit transaction) as of unknown outcome unless the server refused it, it was
// never sent, or the store was closed: a dead connection or a deadline (the
// caller's or WriteTimeout) may have struck after the commit.
func statementError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) || pgconn.SafeToRetry(err) || errors.Is(err, storagefirst.ErrClosed) {
		return err
	}
	return fmt.Errorf("%w: %w", storagefirst.ErrOutcomeUnknown, err)
}

// PutKeyed stores p.Envelope and a completed idempotency record of (p.Scope, p.Key)
// holding p.Fingerprint and p.Answer, in one transaction: both or neither. When the
// key already has a live record it stores nothing and returns the record (Stored
// false), or an error wrapping storagefirst.ErrFingerprintMismatch when the record
// is for another fingerprint, or storagefirst.ErrInProgress when a worker holds the
// key through IdempotencyStore.Begin. Concurrent calls with one key wait for each
// other: the second finds the first's record once it commits, and takes the key if
// it rolls back.
//
// A failed call stores nothing and leaves the key free, except when its error wraps
// storagefirst.ErrOutcomeUnknown: then the commit may have happened, and a retry
// with the same key finds out (it either returns the stored record or stores).
func (q *Queue) PutKeyed(ctx context.Context, p storagefirst.KeyedPut) (storagefirst.KeyedResult, error) {
	var res storagefirst.KeyedResult
	errFound := errors.New("found") // roll back: nothing to write
	err := q.s.WriteTx(ctx, func(tx pgx.Tx) error {
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
		return storagefirst.KeyedResult{}, fmt.Errorf("pgstore: keyed put: %w", err)
	}
	return res, nil
}

// PutKeyedTx is PutKeyed inside the caller's transaction, which must run at READ
// COMMITTED (the default): the record and the envelope commit with the caller's
// own writes (an order row, say), or not at all. Write those only when the result
// says Stored. Check the commit's error with storagefirst.ErrOutcomeUnknown, as
// Store.WriteTx does.
func (q *Queue) PutKeyedTx(ctx context.Context, tx pgx.Tx, p storagefirst.KeyedPut) (storagefirst.KeyedResult, error) {
	if p.Scope == "" || p.Key == "" {
		return storagefirst.KeyedResult{}, storagefirst.Permanentf("%w: a keyed put needs a scope and a key", storagefirst.ErrInvalidEnvelope)
	}
	items, failed := q.prepare([]storagefirst.Envelope{p.Envelope})
	if err := storagefirst.NewPutError(1, failed); err != nil {
		return storagefirst.KeyedResult{}, err
	}
	res, err := q.s.recordKey(ctx, tx, p)
	if err != nil || !res.Stored {
		return res, err
	}
	if _, err := q.s.insert(ctx, tx, items, true); err != nil {
		return storagefirst.KeyedResult{}, fmt.Errorf("pgstore: put in transaction: %w", err)
	}
	return res, nil
}

// recordKey writes the completed record of p's key in tx, unless a live record
// holds the key. The upsert takes the key when it is free (no record, released,
// expired, or a claim whose lease ran out); a concurrent transaction that holds
// the key's row makes it wait for that one's end.
func (s *Store) recordKey(ctx context.Context, tx pgx.Tx, p storagefirst.KeyedPut) (storagefirst.KeyedResult, error) {
	ttl := p.TTL
	if ttl <= 0 {
		ttl = storagefirst.IdempotencyTTLDefault
	}
	upsert := s.sql(`INSERT INTO {{schema}}.idempotency AS i (scope, key, fingerprint, state, token, outcome_result, expires_at)
		VALUES ($1, $2, $3, 'completed', nextval('{{schema}}.tokens'), $4, now() + $5::interval)
		ON CONFLICT (scope, key) DO UPDATE
		SET fingerprint = EXCLUDED.fingerprint, state = 'completed', token = EXCLUDED.token, lease_until = NULL,
			outcome_error = '', outcome_result = EXCLUDED.outcome_result, expires_at = EXCLUDED.expires_at,
			updated_at = now()
		WHERE i.state = 'released'
			OR (i.state = 'completed' AND i.expires_at <= now())
			OR (i.state = 'in_progress' AND i.lease_until <= now())
		RETURNING token`)
	// The record can change between the upsert and the read; a few rounds settle it.
	for range 5 {
		var token int64
		err := tx.QueryRow(ctx, upsert, p.Scope, p.Key, p.Fingerprint, []byte(p.Answer), ttl).Scan(&token)
		if err == nil {
			return storagefirst.KeyedResult{Stored: true}, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return storagefirst.KeyedResult{}, fmt.Errorf("pgstore: idempotency record: %w", err)
		}
		r, live, err := s.readRecord(ctx, tx, p.Scope, p.Key)
		if errors.Is(err, storagefirst.ErrNotFound) || err == nil && !live {
			continue
		}
		if err != nil {
			return storagefirst.KeyedResult{}, err
		}
		res := storagefirst.KeyedResult{Record: r}
		switch {
		case r.Fingerprint != "" && p.Fingerprint != "" && r.Fingerprint != p.Fingerprint:
			return res, fmt.Errorf("%w: scope %q key %q", storagefirst.ErrFingerprintMismatch, p.Scope, p.Key)
		case r.State == storagefirst.IdempotencyInProgress:
			return res, fmt.Errorf("%w: scope %q key %q until %s", storagefirst.ErrInProgress, p.Scope, p.Key, r.LeaseUntil.Format(time.RFC3339Nano))
		}
		return res, nil
	}
	return storagefirst.KeyedResult{}, storagefirst.Retryable(fmt.Errorf("pgstore: idempotency record %q: the record kept changing", p.Key))
}

// readRecord reads a record in tx, and whether it is live.
func (s *Store) readRecord(ctx context.Context, tx pgx.Tx, scope, key string) (storagefirst.IdempotencyRecord, bool, error) {
	r := storagefirst.IdempotencyRecord{Scope: scope, Key: key}
	var (
		state             string
		leaseUntil, expAt *time.Time
		live              bool
	)
	err := tx.QueryRow(ctx, s.q.idemGet, scope, key).Scan(&r.Fingerprint, &state, &r.Token, &leaseUntil,
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
