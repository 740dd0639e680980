package sqlitestore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/storagefirst/storagefirst-go/internal/batch"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// Queue is one named queue of a Store: a storagefirst.Sink and storagefirst.Queue,
// also a storagefirst.Waker, storagefirst.DeadLetters, storagefirst.StatsReporter
// and a dlq destination. It is safe for concurrent use within one process.
type Queue struct {
	s    *Store
	name string
}

var (
	_ storagefirst.Queue         = (*Queue)(nil)
	_ storagefirst.Waker         = (*Queue)(nil)
	_ storagefirst.DeadLetters   = (*Queue)(nil)
	_ storagefirst.StatsReporter = (*Queue)(nil)
)

// Queue returns the queue called name (1 to 128 bytes of UTF-8, no NUL).
func (s *Store) Queue(name string) (*Queue, error) {
	if name == "" || len(name) > 128 || !utf8.ValidString(name) || strings.IndexByte(name, 0) >= 0 {
		return nil, fmt.Errorf("%w: %q", ErrInvalidQueueName, name)
	}
	return &Queue{s: s, name: name}, nil
}

// Name returns the queue's name.
func (q *Queue) Name() string { return q.name }

type putItem struct {
	queue string
	env   storagefirst.Envelope
}

// Put stores envs durably: it returns nil once they are committed. See Enqueue.
func (q *Queue) Put(ctx context.Context, envs ...storagefirst.Envelope) error {
	_, err := q.Enqueue(ctx, envs...)
	return err
}

// Enqueue stores envs durably and says which were new and which were stored
// already: it returns once their transaction is committed (WAL,
// synchronous=FULL). Concurrent calls share transactions. Invalid envelopes are
// reported in a *storagefirst.PutError; an ID already present, a dead letter's
// included, is left as it is: a retried Put never revives a dead letter (Requeue
// does). When the database rejects a row (a constraint, a value too big), the
// shared transaction is split and retried until that envelope is alone: only it
// fails, permanently, wrapping storagefirst.ErrInvalidEnvelope, and every other
// envelope commits. When ctx ends while the envelopes wait for, or are in, a
// shared transaction (which goes on without the caller), the error wraps
// storagefirst.ErrOutcomeUnknown as well as ctx's error: they may or may not be
// stored; retry the Put (a repeat is harmless), never acknowledge.
func (q *Queue) Enqueue(ctx context.Context, envs ...storagefirst.Envelope) (storagefirst.PutResult, error) {
	items, failed := q.prepare(envs)
	var res storagefirst.PutResult
	if len(items) > 0 {
		if err := ctx.Err(); err != nil {
			return storagefirst.PutResult{}, fmt.Errorf("sqlitestore: put: %w", err) // nothing was tried
		}
		outs, err := q.s.puts.Do(ctx, items)
		if err != nil {
			return storagefirst.PutResult{}, fmt.Errorf("sqlitestore: put: %w", outcomeError(ctx, err))
		}
		var txErrs []storagefirst.FailedEnvelope
		for i, it := range items {
			switch o := outs[i]; {
			case o.Err == nil && o.Value:
				res.Inserted = append(res.Inserted, it.env.ID)
			case o.Err == nil:
				res.Duplicates = append(res.Duplicates, it.env.ID)
			case rowRejected(o.Err):
				failed = append(failed, storagefirst.FailedEnvelope{ID: it.env.ID, Err: storagefirst.Permanent(
					fmt.Errorf("%w: the database rejected it: %w", storagefirst.ErrInvalidEnvelope, o.Err))})
			default:
				txErrs = append(txErrs, storagefirst.FailedEnvelope{ID: it.env.ID, Err: fmt.Errorf("sqlitestore: put: %w", o.Err)})
			}
		}
		if len(txErrs) == len(items) && len(failed) == 0 {
			return storagefirst.PutResult{}, txErrs[0].Err // nothing was stored: the transaction's error
		}
		failed = append(failed, txErrs...)
		inOrder(envs, failed)
		if len(failed) < len(envs) { // something was stored
			q.s.wake(q.name)
		}
	}
	return res, storagefirst.NewPutError(len(envs), failed)
}

// outcomeError marks err, from a group commit that ctx's end left behind, as of
// unknown outcome: the shared transaction runs on without the caller.
func outcomeError(ctx context.Context, err error) error {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) && !errors.Is(err, storagefirst.ErrOutcomeUnknown) {
		return fmt.Errorf("%w: %w", storagefirst.ErrOutcomeUnknown, err)
	}
	return err
}

// rowRejected reports whether err is SQLite refusing a row for what it holds (a
// constraint, a value too big or of the wrong type), not the transaction failing.
func rowRejected(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_MISMATCH:
		return true
	}
	return false
}

// PutTx stores envs inside tx (from Store.WriteTx): the transactional outbox.
// Invalid envelopes are reported as by Enqueue, the valid ones inserted. The
// queue's consumers are woken when the call returns; commit promptly.
func (q *Queue) PutTx(ctx context.Context, tx *sql.Tx, envs ...storagefirst.Envelope) (storagefirst.PutResult, error) {
	items, failed := q.prepare(envs)
	var res storagefirst.PutResult
	if len(items) > 0 {
		inserted, err := insert(ctx, tx, items)
		if err != nil {
			return storagefirst.PutResult{}, fmt.Errorf("sqlitestore: put in transaction: %w", err)
		}
		for i, it := range items {
			if inserted[i] {
				res.Inserted = append(res.Inserted, it.env.ID)
			} else {
				res.Duplicates = append(res.Duplicates, it.env.ID)
			}
		}
		defer q.s.wake(q.name)
	}
	return res, storagefirst.NewPutError(len(envs), failed)
}

func (q *Queue) prepare(envs []storagefirst.Envelope) ([]putItem, []storagefirst.FailedEnvelope) {
	valid, failed := storagefirst.ValidateForPut(envs)
	items := make([]putItem, len(valid))
	for i, e := range valid {
		items[i] = putItem{queue: q.name, env: e}
	}
	return items, failed
}

// writeTimeout bounds each group-commit transaction (puts, acknowledgements): a
// batch already running when the store closes finishes within it.
const writeTimeout = 30 * time.Second

// execPut is the group commit of Put: one transaction for the batch, split until
// a row the database rejects is alone (batch.Isolate), all within writeTimeout.
func (s *Store) execPut(ctx context.Context, items []putItem) ([]batch.Outcome[bool], error) {
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	return batch.Isolate(ctx, items, func(ctx context.Context, items []putItem) ([]bool, error) {
		var out []bool
		err := s.WriteTx(ctx, func(tx *sql.Tx) error {
			var err error
			out, err = insert(ctx, tx, items)
			return err
		})
		return out, err
	}, rowRejected), nil
}

func nullable(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

func insert(ctx context.Context, tx *sql.Tx, items []putItem) ([]bool, error) {
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO envelopes
		(queue, id, type, source, accepted_at, idempotency_key, correlation_id, metadata, payload, available_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (queue, id) DO NOTHING`)
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	now := micros(time.Now())
	out := make([]bool, len(items))
	for i, it := range items {
		e := it.env
		var meta []byte
		if len(e.Metadata) > 0 {
			meta, _ = json.Marshal(e.Metadata)
		}
		res, err := stmt.ExecContext(ctx, it.queue, e.ID, e.Type, e.Source, micros(e.AcceptedAt), e.IdempotencyKey,
			e.CorrelationID, nullable(meta), nullable(e.Payload), now)
		if err != nil {
			return nil, err
		}
		n, _ := res.RowsAffected()
		out[i] = n == 1
	}
	return out, nil
}

// Claim leases up to max due envelopes, oldest due first.
func (q *Queue) Claim(ctx context.Context, max int, lease time.Duration) ([]storagefirst.Delivery, error) {
	if max <= 0 || lease <= 0 {
		return nil, fmt.Errorf("sqlitestore: Claim needs max > 0 and lease > 0, got %d and %v", max, lease)
	}
	var out []storagefirst.Delivery
	err := q.s.WriteTx(ctx, func(tx *sql.Tx) error {
		now := time.Now()
		rows, err := tx.QueryContext(ctx, sqlClaimDue, q.name, micros(now), max)
		if err != nil {
			return err
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(ids) == 0 {
			return err
		}
		first, err := tokens(ctx, tx, len(ids))
		if err != nil {
			return err
		}
		until := now.Add(lease)
		for i, id := range ids {
			d := storagefirst.Delivery{Lease: storagefirst.Lease{ID: id, Token: first + int64(i), Until: fromMicros(micros(until))}}
			var meta, payload, fails sql.NullString
			var accepted int64
			e := &d.Envelope
			err := tx.QueryRowContext(ctx, `UPDATE envelopes SET state = 1, attempt = attempt + 1, lease_token = ?, available_at = ?
				WHERE queue = ? AND id = ?
				RETURNING id, type, source, accepted_at, idempotency_key, correlation_id, metadata, payload, attempt, failures`,
				d.Lease.Token, micros(until), q.name, id).Scan(&e.ID, &e.Type, &e.Source, &accepted, &e.IdempotencyKey,
				&e.CorrelationID, &meta, &payload, &e.Attempt, &fails)
			if err != nil {
				return err
			}
			if err := decode(e, accepted, meta, payload); err != nil {
				return err
			}
			if fails.Valid {
				if err := json.Unmarshal([]byte(fails.String), &d.Failures); err != nil {
					return err
				}
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: claim: %w", err)
	}
	return out, nil
}

func decode(e *storagefirst.Envelope, accepted int64, meta, payload sql.NullString) error {
	e.AcceptedAt = fromMicros(accepted)
	if meta.Valid {
		if err := json.Unmarshal([]byte(meta.String), &e.Metadata); err != nil {
			return err
		}
	}
	if payload.Valid {
		e.Payload = json.RawMessage(payload.String)
	}
	return nil
}

type ackItem struct {
	queue string
	lease storagefirst.Lease
}

// Ack removes the envelope. Concurrent acknowledgements share a transaction.
func (q *Queue) Ack(ctx context.Context, l storagefirst.Lease) error {
	res, err := q.s.acks.Do(ctx, []ackItem{{q.name, l}})
	if err != nil {
		return fmt.Errorf("sqlitestore: ack: %w", err)
	}
	if !res[0] {
		return leaseLost(l)
	}
	return nil
}

func (s *Store) execAck(ctx context.Context, items []ackItem) ([]bool, error) {
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	out := make([]bool, len(items))
	err := s.WriteTx(ctx, func(tx *sql.Tx) error {
		for i, it := range items {
			res, err := tx.ExecContext(ctx, `DELETE FROM envelopes WHERE queue = ? AND id = ? AND lease_token = ? AND state = 1`,
				it.queue, it.lease.ID, it.lease.Token)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			out[i] = n == 1
		}
		return nil
	})
	return out, err
}

func leaseLost(l storagefirst.Lease) error {
	return fmt.Errorf("%w: envelope %s token %d", storagefirst.ErrLeaseLost, l.ID, l.Token)
}

// execLease runs an update on a leased row; no row is ErrLeaseLost.
func (q *Queue) execLease(ctx context.Context, op, query string, l storagefirst.Lease, args ...any) error {
	res, err := q.s.w.ExecContext(ctx, query, append(args, q.name, l.ID, l.Token)...)
	if err != nil {
		return fmt.Errorf("sqlitestore: %s: %w", op, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return leaseLost(l)
	}
	return nil
}

// appendFailure reads and extends the failure history inside a write.
func (q *Queue) appendFailure(ctx context.Context, tx *sql.Tx, l storagefirst.Lease, f storagefirst.Failure) (string, error) {
	var cur sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT failures FROM envelopes WHERE queue = ? AND id = ? AND lease_token = ? AND state = 1`,
		q.name, l.ID, l.Token).Scan(&cur)
	if errors.Is(err, sql.ErrNoRows) {
		return "", leaseLost(l)
	}
	if err != nil {
		return "", err
	}
	var fs []storagefirst.Failure
	if cur.Valid {
		if err := json.Unmarshal([]byte(cur.String), &fs); err != nil {
			return "", err
		}
	}
	b, err := json.Marshal(storagefirst.AppendFailure(fs, f))
	return string(b), err
}

// Retry records failure and makes the envelope due after delay.
func (q *Queue) Retry(ctx context.Context, l storagefirst.Lease, delay time.Duration, failure storagefirst.Failure) error {
	err := q.s.WriteTx(ctx, func(tx *sql.Tx) error {
		fs, err := q.appendFailure(ctx, tx, l, failure)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE envelopes SET state = 0, lease_token = NULL, available_at = ?, failures = ?
			WHERE queue = ? AND id = ?`, micros(time.Now().Add(max(delay, 0))), fs, q.name, l.ID)
		return err
	})
	if err == nil && delay <= 0 {
		q.s.wake(q.name)
	}
	return err
}

// Release makes the envelope due now without counting the attempt.
func (q *Queue) Release(ctx context.Context, l storagefirst.Lease) error {
	err := q.execLease(ctx, "release", `UPDATE envelopes SET state = 0, lease_token = NULL, available_at = ?,
		attempt = max(attempt - 1, 0) WHERE queue = ? AND id = ? AND lease_token = ? AND state = 1`, l, micros(time.Now()))
	if err == nil {
		q.s.wake(q.name)
	}
	return err
}

// DeadLetter moves the envelope to the dead letters.
func (q *Queue) DeadLetter(ctx context.Context, l storagefirst.Lease, failure storagefirst.Failure) error {
	return q.s.WriteTx(ctx, func(tx *sql.Tx) error {
		fs, err := q.appendFailure(ctx, tx, l, failure)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE envelopes SET state = 2, lease_token = NULL, dead_at = ?, failures = ?
			WHERE queue = ? AND id = ?`, micros(time.Now()), fs, q.name, l.ID)
		return err
	})
}

// Extend moves the lease's end to d from now.
func (q *Queue) Extend(ctx context.Context, l storagefirst.Lease, d time.Duration) (storagefirst.Lease, error) {
	until := time.Now().Add(d)
	if err := q.execLease(ctx, "extend", `UPDATE envelopes SET available_at = ? WHERE queue = ? AND id = ? AND lease_token = ? AND state = 1`,
		l, micros(until)); err != nil {
		return l, err
	}
	l.Until = fromMicros(micros(until))
	return l, nil
}

// Wake returns a channel that receives when envelopes are put into this queue (by
// this process: a SQLite store serves one).
func (q *Queue) Wake(ctx context.Context) <-chan struct{} { return q.s.wakes.Subscribe(ctx, q.name) }

func (s *Store) wake(queue string) { s.wakes.Notify(queue) }

// ListDead returns dead letters in ID order.
func (q *Queue) ListDead(ctx context.Context, f storagefirst.DeadLetterFilter) ([]storagefirst.DeadLetter, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	var rows *sql.Rows
	var err error
	if f.Type == "" {
		rows, err = q.s.r.QueryContext(ctx, sqlListDead, q.name, f.AfterID, limit)
	} else {
		rows, err = q.s.r.QueryContext(ctx, sqlListDeadType, q.name, f.Type, f.AfterID, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list dead: %w", err)
	}
	defer rows.Close()
	var out []storagefirst.DeadLetter
	for rows.Next() {
		var d storagefirst.DeadLetter
		e := &d.Envelope
		var meta, payload, fails sql.NullString
		var accepted, dead int64
		if err := rows.Scan(&e.ID, &e.Type, &e.Source, &accepted, &e.IdempotencyKey, &e.CorrelationID, &meta, &payload,
			&e.Attempt, &fails, &dead); err != nil {
			return nil, err
		}
		if err := decode(e, accepted, meta, payload); err != nil {
			return nil, err
		}
		if fails.Valid {
			if err := json.Unmarshal([]byte(fails.String), &d.Failures); err != nil {
				return nil, err
			}
		}
		d.DeadAt = fromMicros(dead)
		out = append(out, d)
	}
	return out, rows.Err()
}

// Requeue makes a dead letter due again, marked as a replay.
func (q *Queue) Requeue(ctx context.Context, id string) error {
	err := q.s.WriteTx(ctx, func(tx *sql.Tx) error {
		var meta sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT metadata FROM envelopes WHERE queue = ? AND id = ? AND state = 2`, q.name, id).Scan(&meta)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: dead letter %s", storagefirst.ErrNotFound, id)
		}
		if err != nil {
			return err
		}
		var env storagefirst.Envelope
		if meta.Valid {
			if err := json.Unmarshal([]byte(meta.String), &env.Metadata); err != nil {
				return err
			}
		}
		env = storagefirst.MarkReplayed(env, time.Now())
		b, _ := json.Marshal(env.Metadata)
		_, err = tx.ExecContext(ctx, `UPDATE envelopes SET state = 0, attempt = 0, available_at = ?, dead_at = NULL, metadata = ?
			WHERE queue = ? AND id = ?`, micros(time.Now()), string(b), q.name, id)
		return err
	})
	if err == nil {
		q.s.wake(q.name)
	}
	return err
}

// DeleteDead removes a dead letter.
func (q *Queue) DeleteDead(ctx context.Context, id string) error {
	res, err := q.s.w.ExecContext(ctx, `DELETE FROM envelopes WHERE queue = ? AND id = ? AND state = 2`, q.name, id)
	if err != nil {
		return fmt.Errorf("sqlitestore: delete dead: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: dead letter %s", storagefirst.ErrNotFound, id)
	}
	return nil
}

// SendDeadLetter stores dl as a dead letter of the queue (a dlq destination).
func (q *Queue) SendDeadLetter(ctx context.Context, dl storagefirst.DeadLetter) error {
	e := dl.Envelope
	if err := e.Normalize(); err != nil {
		return err
	}
	if err := e.Validate(); err != nil {
		return err
	}
	var meta []byte
	if len(e.Metadata) > 0 {
		meta, _ = json.Marshal(e.Metadata)
	}
	fails, err := json.Marshal(dl.Failures)
	if err != nil {
		return err
	}
	deadAt := dl.DeadAt
	if deadAt.IsZero() {
		deadAt = time.Now()
	}
	_, err = q.s.w.ExecContext(ctx, `INSERT INTO envelopes
		(queue, id, type, source, accepted_at, idempotency_key, correlation_id, metadata, payload, state, attempt, available_at, failures, dead_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 2, ?, ?, ?, ?)
		ON CONFLICT (queue, id) DO UPDATE SET state = 2, lease_token = NULL, attempt = excluded.attempt,
			failures = excluded.failures, dead_at = excluded.dead_at`,
		q.name, e.ID, e.Type, e.Source, micros(e.AcceptedAt), e.IdempotencyKey, e.CorrelationID, nullable(meta),
		nullable(e.Payload), e.Attempt, micros(time.Now()), string(fails), micros(deadAt))
	if err != nil {
		return fmt.Errorf("sqlitestore: send dead letter: %w", err)
	}
	return nil
}

// Stats counts the queue's envelopes.
func (q *Queue) Stats(ctx context.Context) (storagefirst.QueueStats, error) {
	now := micros(time.Now())
	var s storagefirst.QueueStats
	var oldest sql.NullInt64
	err := q.s.r.QueryRowContext(ctx, sqlStats, q.name, now).Scan(&s.Ready, &s.Scheduled, &s.InFlight, &s.Dead, &oldest)
	if err != nil {
		return s, fmt.Errorf("sqlitestore: stats: %w", err)
	}
	if oldest.Valid {
		s.OldestReadyAge = time.Duration(now-oldest.Int64) * time.Microsecond
	}
	return s, nil
}

// Store returns the store the queue belongs to.
func (q *Queue) Store() *Store { return q.s }

// inOrder sorts failed into the order of envs (a PutError lists its failures in
// the order the envelopes were given).
func inOrder(envs []storagefirst.Envelope, failed []storagefirst.FailedEnvelope) {
	if len(failed) < 2 {
		return // nothing to sort: spare every Put the map of its envelopes
	}
	pos := make(map[string]int, len(envs))
	for i := len(envs) - 1; i >= 0; i-- {
		pos[envs[i].ID] = i
	}
	slices.SortStableFunc(failed, func(a, b storagefirst.FailedEnvelope) int { return cmp.Compare(pos[a.ID], pos[b.ID]) })
}
