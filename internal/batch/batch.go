// Package batch is group commit for any writer: calls from concurrent callers are
// gathered into one execution, and each caller is answered with its own items'
// results once that execution has finished. pgstore and sqlitestore batch their
// inserts and acknowledgements with it (pgstore its idempotency Begins too), the
// AWS sinks their PutEvents, SendMessageBatch and PutRecords calls; Isolate splits
// a store's batch so that a row the database rejects fails only itself.
//
// It is machinery the stores and the AWS sinks share: it imports only the standard
// library, and storagefirst for its errors.
package batch

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// Batcher is group commit. A lone caller does not wait for company: with nothing
// queued and a slot free it runs at once in its own goroutine; otherwise a batch is
// what has queued up by the time a slot frees (plus up to MaxWait, if set).
//
// Every call is answered: when the Batcher stops, calls not yet executing fail with
// storagefirst.ErrClosed, and executions already running finish.
type Batcher[T, R any] struct {
	in       chan *batchCall[T, R]
	slots    chan struct{} // bounds the batches executing at once
	maxBatch int
	maxWait  time.Duration
	exec     func(ctx context.Context, items []T) ([]R, error)
	ctx      context.Context
	done     chan struct{}

	mu      sync.Mutex
	stopped bool           // set by loop as it exits; no execution starts after
	running sync.WaitGroup // executions, fast path included

	batches, items atomic.Int64 // executed, for Stats
	queued         atomic.Int64 // calls handed to loop and not yet executing
}

type batchCall[T, R any] struct {
	ctx   context.Context
	items []T
	res   []R
	err   error
	done  chan struct{}
}

// Config bounds a Batcher.
type Config struct {
	// MaxBatch bounds the items of one execution (a single call larger than that
	// runs alone).
	MaxBatch int
	// Concurrency bounds the executions running at once.
	Concurrency int
	// MaxWait is how long a forming batch may wait for more calls; zero means it
	// takes only what has queued already.
	MaxWait time.Duration
}

// New starts a Batcher whose executions run exec. It stops when ctx ends: calls
// not yet executing then fail with storagefirst.ErrClosed, and executions already
// running finish, on a context that the end of ctx does not cancel (exec bounds
// its own time; Wait waits for them). exec must return one result per item, in
// order, or an error that fails every call of the batch.
func New[T, R any](ctx context.Context, cfg Config, exec func(context.Context, []T) ([]R, error)) *Batcher[T, R] {
	maxBatch, concurrency, maxWait := max(cfg.MaxBatch, 1), max(cfg.Concurrency, 1), max(cfg.MaxWait, 0)
	b := &Batcher[T, R]{in: make(chan *batchCall[T, R]), slots: make(chan struct{}, concurrency),
		maxBatch: maxBatch, maxWait: maxWait, exec: exec, ctx: ctx, done: make(chan struct{})}
	go b.loop()
	return b
}

// Do runs items in a batch and returns their results, in order. When ctx ends first
// it returns ctx.Err(): the items may or may not have been executed. When the
// Batcher has stopped, or stops before the items execute, it returns
// storagefirst.ErrClosed.
func (b *Batcher[T, R]) Do(ctx context.Context, items []T) ([]R, error) {
	// Fast path: with nothing queued and a slot free, there is no one to batch
	// with; run in the caller's goroutine and skip the hand-offs.
	if b.queued.Load() == 0 && b.ctx.Err() == nil {
		select {
		case b.slots <- struct{}{}:
			if !b.begin() {
				<-b.slots
				return nil, storagefirst.ErrClosed
			}
			b.batches.Add(1)
			b.items.Add(int64(len(items)))
			res, err := b.exec(ctx, items)
			b.running.Done()
			<-b.slots
			return res, err
		default:
		}
	}
	c := &batchCall[T, R]{ctx: ctx, items: items, done: make(chan struct{})}
	b.queued.Add(1)
	select {
	case b.in <- c:
	case <-ctx.Done():
		b.queued.Add(-1)
		return nil, ctx.Err()
	case <-b.ctx.Done():
		b.queued.Add(-1)
		return nil, storagefirst.ErrClosed
	}
	select {
	case <-c.done:
		return c.res, c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// begin registers an execution about to start; it reports false once the Batcher
// has stopped, and then nothing may start.
func (b *Batcher[T, R]) begin() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped || b.ctx.Err() != nil {
		return false
	}
	b.running.Add(1)
	return true
}

// Wait blocks until the Batcher has stopped (its ctx ended), every call it was
// given has been answered and every execution has finished.
func (b *Batcher[T, R]) Wait() { <-b.done }

// Stats returns how many executions ran and how many items they held.
func (b *Batcher[T, R]) Stats() (executions, items int64) {
	return b.batches.Load(), b.items.Load()
}

// closeCalls answers calls that will not execute with storagefirst.ErrClosed.
func (b *Batcher[T, R]) closeCalls(calls ...*batchCall[T, R]) {
	for _, c := range calls {
		if c == nil {
			continue
		}
		b.queued.Add(-1)
		c.err = storagefirst.ErrClosed
		close(c.done)
	}
}

// loop gathers calls into batches and runs up to cap(slots) batches at once. While
// every slot is busy the next batch keeps forming, which is what makes batches grow
// under load. Every call it receives is either executed or answered with
// storagefirst.ErrClosed: the batch being formed and the call that did not fit it
// (pending) alike.
func (b *Batcher[T, R]) loop() {
	var calls []*batchCall[T, R]
	var pending *batchCall[T, R] // a call that did not fit the last batch
	defer func() {
		b.closeCalls(append(calls, pending)...)
		b.mu.Lock()
		b.stopped = true // no execution starts from now on
		b.mu.Unlock()
		b.running.Wait()
		close(b.done)
	}()
	for {
		calls = nil
		n := 0
		if pending != nil {
			calls, n, pending = append(calls, pending), len(pending.items), nil
		} else {
			select {
			case c := <-b.in:
				calls, n = append(calls, c), len(c.items)
			case <-b.ctx.Done():
				return
			}
		}
		if b.ctx.Err() != nil {
			return
		}
		var timer *time.Timer
		var linger <-chan time.Time
		if b.maxWait > 0 {
			timer = time.NewTimer(b.maxWait)
			linger = timer.C
		}
	gather:
		for n < b.maxBatch {
			var c *batchCall[T, R]
			if linger == nil {
				select {
				case c = <-b.in:
				default:
					break gather
				}
			} else {
				select {
				case c = <-b.in:
				case <-linger:
					break gather
				case <-b.ctx.Done():
					break gather
				}
			}
			if n+len(c.items) > b.maxBatch {
				pending = c
				break
			}
			calls, n = append(calls, c), n+len(c.items)
		}
		if timer != nil {
			timer.Stop()
		}
		if b.ctx.Err() != nil {
			return
		}
		// Wait for a slot, and let the batch grow meanwhile with the calls that
		// arrive: while every slot is busy, the callers who come are the next
		// batch's, not one batch each.
	wait:
		for {
			in := b.in
			if pending != nil || n >= b.maxBatch {
				in = nil // full: wait for the slot alone
			}
			select {
			case b.slots <- struct{}{}:
				break wait
			case c := <-in:
				if n+len(c.items) > b.maxBatch {
					pending = c
					continue
				}
				calls, n = append(calls, c), n+len(c.items)
			case <-b.ctx.Done():
				return
			}
		}
		if !b.begin() {
			<-b.slots
			return
		}
		batch := calls
		calls = nil
		go func() {
			defer func() { <-b.slots; b.running.Done() }()
			b.run(batch, n)
		}()
	}
}

// run executes one batch, leaving out callers who gave up before it started.
func (b *Batcher[T, R]) run(calls []*batchCall[T, R], n int) {
	b.queued.Add(-int64(len(calls)))
	live := calls[:0]
	items := make([]T, 0, n)
	for _, c := range calls {
		if err := c.ctx.Err(); err != nil {
			c.err = err
			close(c.done)
			continue
		}
		live = append(live, c)
		items = append(items, c.items...)
	}
	if len(live) == 0 {
		return
	}
	b.batches.Add(1)
	b.items.Add(int64(len(items)))
	// A batch that has started finishes even if the Batcher stops meanwhile: its
	// callers get its outcome, not a cancellation of unknown effect.
	res, err := b.exec(context.WithoutCancel(b.ctx), items)
	off := 0
	for _, c := range live {
		if err != nil {
			c.err = err
		} else {
			c.res = res[off : off+len(c.items)]
		}
		off += len(c.items)
		close(c.done)
	}
}
