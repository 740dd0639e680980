package sftest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/storagefirst/storagefirst-go/internal/wake"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// MemoryQueue is an in-memory storagefirst.Queue (and Sink, Waker, DeadLetters,
// StatsReporter) for tests. It keeps nothing across processes, so it is not
// durable; it follows the Queue contract in every other way and passes
// RunQueueSuite. Its embedded Faults inject Put failures.
type MemoryQueue struct {
	Faults

	clock storagefirst.Clock
	mu    sync.Mutex
	items map[string]*memItem
	token int64
	wake  wake.Hub
}

type memState int

const (
	memReady memState = iota
	memLeased
	memDead
)

type memItem struct {
	env         storagefirst.Envelope
	state       memState
	availableAt time.Time
	token       int64
	leaseUntil  time.Time
	failures    []storagefirst.Failure
	deadAt      time.Time
}

var (
	_ storagefirst.Queue         = (*MemoryQueue)(nil)
	_ storagefirst.Waker         = (*MemoryQueue)(nil)
	_ storagefirst.DeadLetters   = (*MemoryQueue)(nil)
	_ storagefirst.StatsReporter = (*MemoryQueue)(nil)
)

// NewMemoryQueue returns an empty queue on clock (nil means the system clock).
func NewMemoryQueue(clock storagefirst.Clock) *MemoryQueue {
	if clock == nil {
		clock = storagefirst.SystemClock{}
	}
	return &MemoryQueue{clock: clock, items: make(map[string]*memItem)}
}

// Put stores envs (after the injected faults). Invalid envelopes fail with errors
// wrapping storagefirst.ErrInvalidEnvelope, reported in a *storagefirst.PutError
// beside any injected partial failure; the rest are stored. An ID already stored,
// a dead letter's included, is left as it is (only Requeue revives a dead letter).
func (q *MemoryQueue) Put(ctx context.Context, envs ...storagefirst.Envelope) error {
	failed, err := q.before(ctx, envs)
	if err != nil {
		return err
	}
	skip := make(map[string]bool, len(failed))
	for _, f := range failed {
		skip[f.ID] = true
	}
	for _, e := range envs {
		if err := e.Validate(); err != nil && !skip[e.ID] {
			failed = append(failed, storagefirst.FailedEnvelope{ID: e.ID, Err: storagefirst.Permanent(err)})
			skip[e.ID] = true
		}
	}
	q.mu.Lock()
	now := q.clock.Now()
	for _, e := range envs {
		if skip[e.ID] || q.items[e.ID] != nil {
			continue
		}
		e = e.Clone()
		if err := e.Normalize(); err != nil {
			continue // Validate accepted the payload, so this cannot fail
		}
		e.Attempt = 0
		q.items[e.ID] = &memItem{env: e, availableAt: now}
	}
	q.notifyLocked()
	q.mu.Unlock()
	if len(failed) > 0 {
		return &storagefirst.PutError{Total: len(envs), Failed: failed}
	}
	return nil
}

func (q *MemoryQueue) notifyLocked() { q.wake.Notify("") }

// Claim leases up to max due envelopes, oldest due first.
func (q *MemoryQueue) Claim(ctx context.Context, max int, lease time.Duration) ([]storagefirst.Delivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if max <= 0 || lease <= 0 {
		return nil, fmt.Errorf("sftest: Claim needs max > 0 and lease > 0, got %d and %v", max, lease)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock.Now()
	var due []*memItem
	for _, it := range q.items {
		if it.dueAt(now) {
			due = append(due, it)
		}
	}
	slices.SortFunc(due, func(a, b *memItem) int {
		return cmp.Or(a.availableAt.Compare(b.availableAt), cmp.Compare(a.env.ID, b.env.ID))
	})
	out := make([]storagefirst.Delivery, 0, min(max, len(due)))
	for _, it := range due[:min(max, len(due))] {
		q.token++
		it.state, it.token, it.leaseUntil = memLeased, q.token, now.Add(lease)
		it.env.Attempt++
		out = append(out, storagefirst.Delivery{
			Envelope: it.env.Clone(),
			Lease:    storagefirst.Lease{ID: it.env.ID, Token: it.token, Until: it.leaseUntil},
			Failures: slices.Clone(it.failures),
		})
	}
	return out, nil
}

func (it *memItem) dueAt(now time.Time) bool {
	switch it.state {
	case memReady:
		return !it.availableAt.After(now)
	case memLeased:
		return !it.leaseUntil.After(now)
	}
	return false
}

// held returns the item under lease l, or ErrLeaseLost.
func (q *MemoryQueue) held(l storagefirst.Lease) (*memItem, error) {
	it := q.items[l.ID]
	if it == nil || it.state != memLeased || it.token != l.Token {
		return nil, fmt.Errorf("%w: envelope %s token %d", storagefirst.ErrLeaseLost, l.ID, l.Token)
	}
	return it, nil
}

// Ack removes the envelope.
func (q *MemoryQueue) Ack(ctx context.Context, l storagefirst.Lease) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, err := q.held(l); err != nil {
		return err
	}
	delete(q.items, l.ID)
	return nil
}

// Retry records failure and makes the envelope due after delay.
func (q *MemoryQueue) Retry(ctx context.Context, l storagefirst.Lease, delay time.Duration, failure storagefirst.Failure) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	it, err := q.held(l)
	if err != nil {
		return err
	}
	it.failures = storagefirst.AppendFailure(it.failures, failure)
	it.state, it.availableAt = memReady, q.clock.Now().Add(max(delay, 0))
	if delay <= 0 {
		q.notifyLocked()
	}
	return nil
}

// Release makes the envelope due now without counting the attempt.
func (q *MemoryQueue) Release(ctx context.Context, l storagefirst.Lease) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	it, err := q.held(l)
	if err != nil {
		return err
	}
	it.state, it.availableAt = memReady, q.clock.Now()
	it.env.Attempt = max(it.env.Attempt-1, 0)
	q.notifyLocked()
	return nil
}

// DeadLetter moves the envelope to the dead letters.
func (q *MemoryQueue) DeadLetter(ctx context.Context, l storagefirst.Lease, failure storagefirst.Failure) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	it, err := q.held(l)
	if err != nil {
		return err
	}
	it.failures = storagefirst.AppendFailure(it.failures, failure)
	it.state, it.deadAt = memDead, q.clock.Now()
	return nil
}

// Extend moves the lease's end to d from now.
func (q *MemoryQueue) Extend(ctx context.Context, l storagefirst.Lease, d time.Duration) (storagefirst.Lease, error) {
	if err := ctx.Err(); err != nil {
		return l, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	it, err := q.held(l)
	if err != nil {
		return l, err
	}
	it.leaseUntil = q.clock.Now().Add(d)
	l.Until = it.leaseUntil
	return l, nil
}

// Wake returns a channel that receives when envelopes become due now.
func (q *MemoryQueue) Wake(ctx context.Context) <-chan struct{} { return q.wake.Subscribe(ctx, "") }

// ListDead returns dead letters in ID order.
func (q *MemoryQueue) ListDead(ctx context.Context, f storagefirst.DeadLetterFilter) ([]storagefirst.DeadLetter, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []storagefirst.DeadLetter
	for _, it := range q.items {
		if it.state == memDead && it.env.ID > f.AfterID && (f.Type == "" || f.Type == it.env.Type) {
			out = append(out, storagefirst.DeadLetter{Envelope: it.env.Clone(), Failures: slices.Clone(it.failures), DeadAt: it.deadAt})
		}
	}
	slices.SortFunc(out, func(a, b storagefirst.DeadLetter) int { return cmp.Compare(a.Envelope.ID, b.Envelope.ID) })
	return out[:min(limit, len(out))], nil
}

// Requeue makes a dead letter due again with its attempt count reset.
func (q *MemoryQueue) Requeue(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	it := q.items[id]
	if it == nil || it.state != memDead {
		return fmt.Errorf("%w: dead letter %s", storagefirst.ErrNotFound, id)
	}
	it.state, it.availableAt, it.env.Attempt = memReady, q.clock.Now(), 0
	it.env = storagefirst.MarkReplayed(it.env, q.clock.Now())
	q.notifyLocked()
	return nil
}

// DeleteDead removes a dead letter.
func (q *MemoryQueue) DeleteDead(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	it := q.items[id]
	if it == nil || it.state != memDead {
		return fmt.Errorf("%w: dead letter %s", storagefirst.ErrNotFound, id)
	}
	delete(q.items, id)
	return nil
}

// Stats counts the queue's envelopes.
func (q *MemoryQueue) Stats(ctx context.Context) (storagefirst.QueueStats, error) {
	if err := ctx.Err(); err != nil {
		return storagefirst.QueueStats{}, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock.Now()
	var s storagefirst.QueueStats
	for _, it := range q.items {
		switch {
		case it.state == memDead:
			s.Dead++
		case it.state == memLeased && it.leaseUntil.After(now):
			s.InFlight++
		case it.dueAt(now):
			s.Ready++
			s.OldestReadyAge = max(s.OldestReadyAge, now.Sub(it.availableAt))
		default:
			s.Scheduled++
		}
	}
	return s, nil
}

// Envelopes returns copies of every envelope not yet acknowledged, dead letters
// included, in ID order.
func (q *MemoryQueue) Envelopes() []storagefirst.Envelope {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]storagefirst.Envelope, 0, len(q.items))
	for _, it := range q.items {
		out = append(out, it.env.Clone())
	}
	slices.SortFunc(out, func(a, b storagefirst.Envelope) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// SendDeadLetter stores dl as a dead letter of the queue (a dlq.Destination),
// replacing any envelope with its ID.
func (q *MemoryQueue) SendDeadLetter(ctx context.Context, dl storagefirst.DeadLetter) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	env := dl.Envelope.Clone()
	if err := env.Normalize(); err != nil {
		return err
	}
	if err := env.Validate(); err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	deadAt := dl.DeadAt
	if deadAt.IsZero() {
		deadAt = q.clock.Now()
	}
	q.items[env.ID] = &memItem{env: env, state: memDead, deadAt: deadAt, failures: slices.Clone(dl.Failures)}
	return nil
}
