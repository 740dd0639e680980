package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// WriteTx runs fn in a transaction on the store's pool and commits it unless fn
// fails; Config.WriteTimeout bounds the whole, fn's statements included whatever
// context fn gives them: when the timeout (or ctx) ends, the statement running is
// cancelled on the server and the transaction's connection closed, so it rolls
// back and every later statement of fn fails at once. Use the Tx variants of the
// store's methods inside (PutTx, PutKeyedTx, CompleteTx).
//
// When the commit itself fails in a way that leaves its outcome unknown (the
// connection died after the COMMIT was sent, or ctx ended while waiting for its
// answer), the error wraps storagefirst.ErrOutcomeUnknown: the transaction may
// have committed. Any other error means it did not.
func (s *Store) WriteTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return s.writeTx(ctx, func(_ context.Context, tx pgx.Tx) error { return fn(tx) })
}

// writeTx is WriteTx giving fn the bounded context.
func (s *Store) writeTx(ctx context.Context, fn func(ctx context.Context, tx pgx.Tx) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.WriteTimeout)
	defer cancel()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	unbound := boundTx(ctx, tx)
	err = fn(ctx, tx)
	if killed := unbound(); killed && err == nil {
		err = fmt.Errorf("pgstore: transaction cut at its deadline: %w", context.Cause(ctx))
	}
	if err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx)) // a dead connection rolls back by itself
		return err
	}
	return commitError(tx.Commit(ctx))
}

// cancelRequestTimeout bounds the cancel request boundTx sends.
const cancelRequestTimeout = 2 * time.Second

// boundTx makes every statement of tx end by ctx's end, whatever context it runs
// on: when ctx ends, the statement running is cancelled on the server and the
// connection's I/O deadline passes (pgx then closes it; the server rolls the
// transaction back). The returned func stops that, waits for it if it had begun,
// and reports whether it did; call it before the transaction ends, so a
// connection back in the pool is never touched.
func boundTx(ctx context.Context, tx pgx.Tx) func() bool {
	pc := tx.Conn().PgConn()
	done := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(done)
		cctx, cancel := context.WithTimeout(context.Background(), cancelRequestTimeout)
		defer cancel()
		_ = pc.CancelRequest(cctx)
		_ = pc.Conn().SetDeadline(time.Now())
	})
	return func() bool {
		if stop() {
			return false
		}
		<-done
		return true
	}
}

// commitError tells a commit the server refused (nothing committed) from one whose
// outcome the client cannot know.
func commitError(err error) error {
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pgErr) && connectionEnding(pgErr):
		// The server ended the session (an administrator's or a crash's shutdown):
		// it may have done so after the commit reached the disk.
	case errors.As(err, &pgErr), errors.Is(err, pgx.ErrTxCommitRollback), pgconn.SafeToRetry(err):
		// The server answered with an error (it rolled back), the transaction had
		// already failed, or the COMMIT was never sent.
		return fmt.Errorf("pgstore: commit: %w", err)
	}
	return fmt.Errorf("pgstore: commit: %w: %w", storagefirst.ErrOutcomeUnknown, err)
}

// connectionEnding reports whether the server's error ends the session (severity
// FATAL or PANIC, as an administrator's shutdown, 57P01, or a crash's, 57P02, send)
// rather than refusing the statement: such an error can follow a commit.
func connectionEnding(e *pgconn.PgError) bool {
	return e.Severity == "FATAL" || e.Severity == "PANIC" || strings.HasPrefix(e.Code, "57P")
}

// statementError marks the failure of a statement that commits by itself (an
// implicit transaction) as of unknown outcome unless the server refused it, it was
// never sent, or the store was closed: a dead connection or a deadline (the
// caller's or WriteTimeout) may have struck after the commit.
func statementError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && !connectionEnding(pgErr) || pgconn.SafeToRetry(err) || errors.Is(err, storagefirst.ErrClosed) {
		return err
	}
	return fmt.Errorf("%w: %w", storagefirst.ErrOutcomeUnknown, err)
}

// PutKeyed stores p.Envelope and a completed idempotency record of (p.Scope, p.Key)
// holding p.Fingerprint and p.Answer, in one transaction (WriteTx, bounded by
// Config.WriteTimeout): both or neither. When the
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
	err := q.s.writeTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
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
		if rowRejected(err) { // for good: a retry would be refused alike
			return storagefirst.KeyedResult{}, storagefirst.Permanent(fmt.Errorf("pgstore: put in transaction: %w: the database rejected it: %w",
				storagefirst.ErrInvalidEnvelope, err))
		}
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
	// The record can change between the upsert and the read; a few rounds settle it.
	for range 5 {
		var token int64
		err := tx.QueryRow(ctx, s.q.keyedRecord, p.Scope, p.Key, p.Fingerprint, []byte(p.Answer), ttl).Scan(&token)
		if err == nil {
			return storagefirst.KeyedResult{Stored: true}, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return storagefirst.KeyedResult{}, fmt.Errorf("pgstore: idempotency record: %w", err)
		}
		r, live, err := readRecord(ctx, tx, s.q.idemGet, p.Scope, p.Key)
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
