package pgstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/storagefirst/storagefirst-go/internal/batch"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// Queue is one named queue of a Store: a storagefirst.Sink and storagefirst.Queue,
// also a storagefirst.Waker, storagefirst.DeadLetters and storagefirst.StatsReporter.
// It is safe for concurrent use, also from several processes.
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

// Queue returns the queue called name (1 to 128 bytes of UTF-8, no NUL). Queues
// need no creation: one table holds them all.
func (s *Store) Queue(name string) (*Queue, error) {
	if name == "" || len(name) > 128 || !utf8.ValidString(name) || strings.IndexByte(name, 0) >= 0 {
		return nil, fmt.Errorf("%w: %q", ErrInvalidQueueName, name)
	}
	return &Queue{s: s, name: name}, nil
}

// Name returns the queue's name.
func (q *Queue) Name() string { return q.name }

// putItem is one envelope on its way into a group commit.
type putItem struct {
	queue string
	env   storagefirst.Envelope
}

// Put stores envs durably: it returns nil once they are committed. See Enqueue.
func (q *Queue) Put(ctx context.Context, envs ...storagefirst.Envelope) error {
	_, err := q.Enqueue(ctx, envs...)
	return err
}

// Enqueue stores envs durably and says which were new and which were duplicates.
// An envelope whose ID is in the queue already, as a dead letter too, is a
// duplicate and left as it is: a retried Put never revives a dead letter (Requeue
// does).
//
// Concurrent calls are group-committed: gathered into one transaction (one
// multi-row INSERT) and each answered when that transaction has committed, so the
// cost of a commit is shared. A lone caller does not wait for others. Invalid
// envelopes are reported in a *storagefirst.PutError (permanent, wrapping
// storagefirst.ErrInvalidEnvelope) and the valid ones stored. When the database
// rejects a row (a data exception or a constraint, SQLSTATE classes 22, 23 and 54),
// the group commit is split and retried until that envelope is alone: only it
// fails, reported likewise, and every other envelope commits. When a transaction
// fails otherwise, the envelopes in it fail with its error (retryable) and nothing
// of theirs is stored; a call none of whose envelopes was stored returns that
// error itself rather than a *storagefirst.PutError. When ctx ends first, or the
// connection dies while the transaction commits, the error wraps
// storagefirst.ErrOutcomeUnknown and the envelopes may or may not be stored: retry
// the Put (a repeat is harmless), never acknowledge.
func (q *Queue) Enqueue(ctx context.Context, envs ...storagefirst.Envelope) (storagefirst.PutResult, error) {
	items, failed := q.prepare(envs)
	var res storagefirst.PutResult
	if len(items) > 0 {
		outs, err := q.s.puts.Do(ctx, items)
		if err != nil {
			return storagefirst.PutResult{}, fmt.Errorf("pgstore: put: %w", statementError(err))
		}
		var whole error
		if res, failed, whole = splitOutcomes(items, outs, failed); whole != nil {
			return storagefirst.PutResult{}, fmt.Errorf("pgstore: put: %w", statementError(whole))
		}
		inOrder(envs, failed)
	}
	return res, storagefirst.NewPutError(len(envs), failed)
}

// PutTx stores envs inside the caller's transaction (the transactional outbox): they
// become visible to consumers, and consumers are woken, only if tx commits. Invalid
// envelopes are reported as by Enqueue, the valid ones inserted.
func (q *Queue) PutTx(ctx context.Context, tx pgx.Tx, envs ...storagefirst.Envelope) (storagefirst.PutResult, error) {
	items, failed := q.prepare(envs)
	var res storagefirst.PutResult
	if len(items) > 0 {
		inserted, err := q.s.insert(ctx, tx, items, true)
		if err != nil {
			return storagefirst.PutResult{}, fmt.Errorf("pgstore: put in transaction: %w", err)
		}
		res = splitInserted(items, inserted)
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

func splitInserted(items []putItem, inserted []bool) storagefirst.PutResult {
	var r storagefirst.PutResult
	for i, it := range items {
		if inserted[i] {
			r.Inserted = append(r.Inserted, it.env.ID)
		} else {
			r.Duplicates = append(r.Duplicates, it.env.ID)
		}
	}
	return r
}

// execPut is the group commit of Put: one statement, one transaction, one round
// trip for the whole batch. A batch the database rejects for a row's sake is split
// until that row is alone (batch.Isolate), all within WriteTimeout.
func (s *Store) execPut(ctx context.Context, items []putItem) ([]batch.Outcome[bool], error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.WriteTimeout)
	defer cancel()
	outs := batch.Isolate(ctx, items, func(ctx context.Context, items []putItem) ([]bool, error) {
		return s.insert(ctx, s.pool, items, false)
	}, rowRejected)
	// Wake the queues' consumers now that the envelopes are committed.
	var queues []string
	for i, o := range outs {
		if o.Err == nil && o.Value && !slices.Contains(queues, items[i].queue) {
			queues = append(queues, items[i].queue)
		}
	}
	s.wakes.committed(queues)
	return outs, nil
}

// rowRejected reports whether err is the database refusing a row for what it
// holds (SQLSTATE class 22 data exception, 23 integrity constraint violation, 54
// program limit exceeded), not a failure of the transaction as such.
func rowRejected(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || len(pgErr.Code) != 5 {
		return false
	}
	switch pgErr.Code[:2] {
	case "22", "23", "54":
		return true
	}
	return false
}

// splitOutcomes sorts a group commit's outcomes for items into a storagefirst.PutResult and
// failures (appended to failed): an envelope the database rejected fails for good,
// wrapping storagefirst.ErrInvalidEnvelope; one whose transaction failed fails with
// that error. When every item failed with a transaction's error and nothing else
// failed, it returns that error as whole.
func splitOutcomes(items []putItem, outs []batch.Outcome[bool], failed []storagefirst.FailedEnvelope) (storagefirst.PutResult, []storagefirst.FailedEnvelope, error) {
	var r storagefirst.PutResult
	var txErrs []storagefirst.FailedEnvelope
	for i, it := range items {
		switch o := outs[i]; {
		case o.Err == nil && o.Value:
			r.Inserted = append(r.Inserted, it.env.ID)
		case o.Err == nil:
			r.Duplicates = append(r.Duplicates, it.env.ID)
		case rowRejected(o.Err):
			failed = append(failed, storagefirst.FailedEnvelope{ID: it.env.ID, Err: storagefirst.Permanent(
				fmt.Errorf("%w: the database rejected it: %w", storagefirst.ErrInvalidEnvelope, o.Err))})
		default:
			txErrs = append(txErrs, storagefirst.FailedEnvelope{ID: it.env.ID, Err: fmt.Errorf("pgstore: put: %w", statementError(o.Err))})
		}
	}
	if len(txErrs) == len(items) && len(failed) == 0 {
		return storagefirst.PutResult{}, nil, outs[0].Err
	}
	return r, append(failed, txErrs...), nil
}

// querier is a pool, a connection or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// insert inserts items in one statement, which also sends the NOTIFY waking their
// queues' listeners (delivered on commit) when notify is set: for the caller's
// transaction of PutTx; a group commit wakes them after its commit instead (see
// notifier). It reports, per item, whether it was new.
func (s *Store) insert(ctx context.Context, db querier, items []putItem, notify bool) ([]bool, error) {
	type key struct{ queue, id string }
	// One row per key: a repeat within the batch is a duplicate, and RETURNING names
	// keys, not items, so only the first item of a key may count as inserted.
	first := make(map[key]int, len(items))
	uniq := make([]putItem, 0, len(items))
	for _, it := range items {
		k := key{it.queue, it.env.ID}
		if _, dup := first[k]; !dup {
			first[k] = len(uniq)
			uniq = append(uniq, it)
		}
	}
	n := len(uniq)
	var (
		queues, ids, types, sources, keys, corrs = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		accepted                                 = make([]time.Time, n)
		// Strings, not []byte: in QueryExecModeExec (poolers) []byte would be sent as
		// bytea text, which json rejects.
		metas    = make([]*string, n)
		payloads = make([]*string, n)
	)
	for i, it := range uniq {
		e := it.env
		queues[i], ids[i], types[i], sources[i], keys[i], corrs[i] = it.queue, e.ID, e.Type, e.Source, e.IdempotencyKey, e.CorrelationID
		accepted[i] = e.AcceptedAt
		if len(e.Metadata) > 0 {
			m, _ := json.Marshal(e.Metadata) // a map[string]string always encodes
			ms := string(m)
			metas[i] = &ms
		}
		if len(e.Payload) > 0 {
			p := string(e.Payload)
			payloads[i] = &p
		}
	}
	got := make(map[key]bool, n)
	notify, channel := notify && !s.cfg.Pooled, s.channel()
	var rows pgx.Rows
	var err error
	if n == 1 {
		rows, err = db.Query(ctx, s.q.insertOne, queues[0], ids[0], types[0], sources[0], accepted[0], keys[0], corrs[0], metas[0], payloads[0], notify, channel)
	} else {
		rows, err = db.Query(ctx, s.q.insert, queues, ids, types, sources, accepted, keys, corrs, metas, payloads, notify, channel)
	}
	if err != nil {
		return nil, err
	}
	var k key
	if _, err := pgx.ForEachRow(rows, []any{&k.queue, &k.id, nil}, func() error { got[k] = true; return nil }); err != nil {
		return nil, err
	}
	out := make([]bool, len(items))
	seen := make(map[key]bool, n)
	for i, it := range items {
		kk := key{it.queue, it.env.ID}
		out[i] = got[kk] && !seen[kk] // a repeat within one batch counts once
		seen[kk] = true
	}
	return out, nil
}

// Claim leases up to max due envelopes, oldest due first.
func (q *Queue) Claim(ctx context.Context, max int, lease time.Duration) ([]storagefirst.Delivery, error) {
	if max <= 0 || lease <= 0 {
		return nil, fmt.Errorf("pgstore: Claim needs max > 0 and lease > 0, got %d and %v", max, lease)
	}
	rows, err := q.s.pool.Query(ctx, q.s.q.claim, q.name, max, lease)
	if err != nil {
		return nil, fmt.Errorf("pgstore: claim: %w", err)
	}
	type claimed struct {
		d   storagefirst.Delivery
		due time.Time
	}
	var out []claimed
	var (
		c            claimed
		metas, fails []byte
		payload      []byte
		token        int64
		until, dueAt time.Time
	)
	_, err = pgx.ForEachRow(rows, []any{&c.d.Envelope.ID, &c.d.Envelope.Type, &c.d.Envelope.Source,
		&c.d.Envelope.AcceptedAt, &c.d.Envelope.IdempotencyKey, &c.d.Envelope.CorrelationID,
		&metas, &payload, &c.d.Envelope.Attempt, &token, &until, &fails, &dueAt}, func() error {
		d := c.d
		if err := decodeRow(&d.Envelope, metas, payload); err != nil {
			return err
		}
		if len(fails) > 0 {
			if err := json.Unmarshal(fails, &d.Failures); err != nil {
				return fmt.Errorf("failures of %s: %w", d.Envelope.ID, err)
			}
		}
		d.Lease = storagefirst.Lease{ID: d.Envelope.ID, Token: token, Until: until}
		out = append(out, claimed{d: d, due: dueAt})
		c = claimed{}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: claim: %w", err)
	}
	slices.SortFunc(out, func(a, b claimed) int {
		return cmp.Or(a.due.Compare(b.due), cmp.Compare(a.d.Envelope.ID, b.d.Envelope.ID))
	})
	ds := make([]storagefirst.Delivery, len(out))
	for i := range out {
		ds[i] = out[i].d
	}
	return ds, nil
}

func decodeRow(e *storagefirst.Envelope, metas, payload []byte) error {
	e.AcceptedAt = e.AcceptedAt.UTC()
	e.Metadata = nil
	if len(metas) > 0 {
		if err := json.Unmarshal(metas, &e.Metadata); err != nil {
			return fmt.Errorf("metadata of %s: %w", e.ID, err)
		}
	}
	e.Payload = nil
	if len(payload) > 0 {
		e.Payload = append(json.RawMessage(nil), payload...)
	}
	return nil
}

type ackItem struct {
	queue string
	id    string
	token int64
}

// Ack removes the envelope. Concurrent acknowledgements are group-committed.
func (q *Queue) Ack(ctx context.Context, l storagefirst.Lease) error {
	res, err := q.s.acks.Do(ctx, []ackItem{{queue: q.name, id: l.ID, token: l.Token}})
	if err != nil {
		return fmt.Errorf("pgstore: ack: %w", err)
	}
	if !res[0] {
		return leaseLost(l)
	}
	return nil
}

func (s *Store) execAck(ctx context.Context, items []ackItem) ([]bool, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.WriteTimeout)
	defer cancel()
	queues, ids, tokens := make([]string, len(items)), make([]string, len(items)), make([]int64, len(items))
	for i, it := range items {
		queues[i], ids[i], tokens[i] = it.queue, it.id, it.token
	}
	rows, err := s.pool.Query(ctx, s.q.ack, queues, ids, tokens)
	if err != nil {
		return nil, err
	}
	type key struct{ queue, id string }
	done := map[key]bool{}
	var k key
	if _, err := pgx.ForEachRow(rows, []any{&k.queue, &k.id}, func() error { done[k] = true; return nil }); err != nil {
		return nil, err
	}
	out := make([]bool, len(items))
	for i, it := range items {
		out[i] = done[key{it.queue, it.id}]
		delete(done, key{it.queue, it.id}) // a second ack of the same lease in one batch fails
	}
	return out, nil
}

func leaseLost(l storagefirst.Lease) error {
	return fmt.Errorf("%w: envelope %s token %d", storagefirst.ErrLeaseLost, l.ID, l.Token)
}

// execLease runs an UPDATE on a leased row and maps "no row" to ErrLeaseLost.
func (q *Queue) execLease(ctx context.Context, op, sql string, l storagefirst.Lease, args ...any) error {
	tag, err := q.s.pool.Exec(ctx, sql, append([]any{q.name, l.ID, l.Token}, args...)...)
	if err != nil {
		return fmt.Errorf("pgstore: %s: %w", op, err)
	}
	if tag.RowsAffected() == 0 {
		return leaseLost(l)
	}
	return nil
}

// Retry records failure and makes the envelope due after delay.
func (q *Queue) Retry(ctx context.Context, l storagefirst.Lease, delay time.Duration, failure storagefirst.Failure) error {
	f, err := json.Marshal(storable(failure))
	if err != nil {
		return err
	}
	return q.execLease(ctx, "retry", q.s.q.retry, l, max(delay, 0), string(f), storagefirst.MaxFailureHistory)
}

// Release makes the envelope due now without counting the attempt.
func (q *Queue) Release(ctx context.Context, l storagefirst.Lease) error {
	return q.execLease(ctx, "release", q.s.q.release, l)
}

// DeadLetter moves the envelope to the dead letters with failure appended to its
// history.
func (q *Queue) DeadLetter(ctx context.Context, l storagefirst.Lease, failure storagefirst.Failure) error {
	f, err := json.Marshal(storable(failure))
	if err != nil {
		return err
	}
	return q.execLease(ctx, "dead-letter", q.s.q.deadLetter, l, string(f), storagefirst.MaxFailureHistory)
}

// Extend moves the lease's end to d from now.
func (q *Queue) Extend(ctx context.Context, l storagefirst.Lease, d time.Duration) (storagefirst.Lease, error) {
	err := q.s.pool.QueryRow(ctx, q.s.q.extend, q.name, l.ID, l.Token, d).Scan(&l.Until)
	if errors.Is(err, pgx.ErrNoRows) {
		return l, leaseLost(l)
	}
	if err != nil {
		return l, fmt.Errorf("pgstore: extend: %w", err)
	}
	return l, nil
}

// ListDead returns dead letters in ID order.
func (q *Queue) ListDead(ctx context.Context, f storagefirst.DeadLetterFilter) ([]storagefirst.DeadLetter, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	var rows pgx.Rows
	var err error
	if f.Type == "" {
		rows, err = q.s.pool.Query(ctx, q.s.q.listDead, q.name, f.AfterID, limit)
	} else {
		rows, err = q.s.pool.Query(ctx, q.s.q.listDeadType, q.name, f.Type, f.AfterID, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: list dead: %w", err)
	}
	var (
		out                   []storagefirst.DeadLetter
		d                     storagefirst.DeadLetter
		metas, payload, fails []byte
	)
	_, err = pgx.ForEachRow(rows, []any{&d.Envelope.ID, &d.Envelope.Type, &d.Envelope.Source, &d.Envelope.AcceptedAt,
		&d.Envelope.IdempotencyKey, &d.Envelope.CorrelationID, &metas, &payload, &d.Envelope.Attempt, &fails, &d.DeadAt}, func() error {
		dl := d
		if err := decodeRow(&dl.Envelope, metas, payload); err != nil {
			return err
		}
		if len(fails) > 0 {
			if err := json.Unmarshal(fails, &dl.Failures); err != nil {
				return err
			}
		}
		out = append(out, dl)
		d = storagefirst.DeadLetter{}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: list dead: %w", err)
	}
	return out, nil
}

// Requeue makes a dead letter due again with its attempt count reset and its
// failure history kept.
func (q *Queue) Requeue(ctx context.Context, id string) error {
	return q.execDead(ctx, "requeue", q.s.q.requeue, id)
}

// DeleteDead removes a dead letter for good.
func (q *Queue) DeleteDead(ctx context.Context, id string) error {
	return q.execDead(ctx, "delete dead", q.s.q.deleteDead, id)
}

func (q *Queue) execDead(ctx context.Context, op, sql, id string) error {
	tag, err := q.s.pool.Exec(ctx, sql, q.name, id)
	if err != nil {
		return fmt.Errorf("pgstore: %s: %w", op, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: dead letter %s in queue %s", storagefirst.ErrNotFound, id, q.name)
	}
	if op == "requeue" && !q.s.cfg.Pooled {
		_, _ = q.s.pool.Exec(ctx, "SELECT pg_notify($1, $2)", q.s.channel(), q.name) // best effort
	}
	return nil
}

// Stats counts the queue's envelopes.
func (q *Queue) Stats(ctx context.Context) (storagefirst.QueueStats, error) {
	var s storagefirst.QueueStats
	var age float64
	err := q.s.pool.QueryRow(ctx, q.s.q.stats, q.name).Scan(&s.Ready, &s.Scheduled, &s.InFlight, &s.Dead, &age)
	if err != nil {
		return s, fmt.Errorf("pgstore: stats: %w", err)
	}
	s.OldestReadyAge = time.Duration(age * float64(time.Second))
	return s, nil
}

// Store returns the store the queue belongs to.
func (q *Queue) Store() *Store { return q.s }

// SendDeadLetter stores dl as a dead letter of the queue: it makes the queue a
// dlq.Destination, so dead letters from any consumer (a Lambda, an SQS batch) can be
// kept, inspected and replayed in Postgres. An envelope with the same ID in the
// queue becomes that dead letter.
func (q *Queue) SendDeadLetter(ctx context.Context, dl storagefirst.DeadLetter) error {
	env := dl.Envelope
	if err := env.Normalize(); err != nil {
		return err
	}
	if err := env.Validate(); err != nil {
		return err
	}
	var metas, payload *string
	if len(env.Metadata) > 0 {
		m, _ := json.Marshal(env.Metadata)
		ms := string(m)
		metas = &ms
	}
	if len(env.Payload) > 0 {
		p := string(env.Payload)
		payload = &p
	}
	fs := make([]storagefirst.Failure, len(dl.Failures))
	for i, f := range dl.Failures {
		fs[i] = storable(f)
	}
	fails, err := json.Marshal(fs)
	if err != nil {
		return err
	}
	var deadAt *time.Time
	if !dl.DeadAt.IsZero() {
		deadAt = &dl.DeadAt
	}
	if _, err := q.s.pool.Exec(ctx, q.s.q.sendDead, q.name, env.ID, env.Type, env.Source, env.AcceptedAt,
		env.IdempotencyKey, env.CorrelationID, metas, payload, env.Attempt, string(fails), deadAt); err != nil {
		return fmt.Errorf("pgstore: send dead letter: %w", err)
	}
	return nil
}

// storable returns f with every NUL byte of its strings replaced by U+FFFD: jsonb
// refuses the \u0000 escape, and a failure whose message holds one (an error that
// quotes binary input) must still reach the dead letters.
func storable(f storagefirst.Failure) storagefirst.Failure {
	clean := func(s string) string { return strings.ReplaceAll(s, "\x00", "\uFFFD") }
	f.Class, f.Error, f.Code, f.Origin = clean(f.Class), clean(f.Error), clean(f.Code), clean(f.Origin)
	return f
}

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
