package storagefirst

import (
	"context"
	"errors"
	"sync"
	"time"
)

// errRunning is returned by a Run called while another Run of the same Consumer is
// in progress.
var errRunning = errors.New("storagefirst: Consumer.Run is already running")

// consumerRun is the state of one Run, shared with Shutdown.
type consumerRun struct {
	// loop is the claim loop's context: it ends with Run's context or on Shutdown.
	loop context.Context
	stop context.CancelFunc
	// byShutdown is set when Shutdown stopped the run: then the caller's context,
	// not ShutdownTimeout, bounds the wait for in-flight handlers.
	byShutdown bool
	// cancelNow is closed when Shutdown's context ends: cancel the handlers now.
	cancelNow  chan struct{}
	cancelOnce sync.Once
	done       chan struct{}
	// hook is closed when the latest OnHealthChange call of this run has
	// returned (nil before the first); only Run's goroutine touches it.
	hook chan struct{}
}

// begin registers a new Run, unless one is running or Shutdown was called.
func (c *Consumer) begin(ctx context.Context) (*consumerRun, error) {
	c.mu.Lock()
	switch {
	case c.closed:
		c.mu.Unlock()
		return nil, ErrClosed
	case c.run != nil:
		c.mu.Unlock()
		return nil, errRunning
	}
	loop, stop := context.WithCancel(ctx)
	r := &consumerRun{loop: loop, stop: stop, cancelNow: make(chan struct{}), done: make(chan struct{})}
	c.run = r
	c.health = ConsumerHealth{Running: true}
	h := c.health
	c.mu.Unlock()
	c.notifyHealth(ctx, r, h)
	return r, nil
}

// end unregisters r once Run is over.
func (c *Consumer) end(ctx context.Context, r *consumerRun) {
	r.stop()
	c.mu.Lock()
	c.run = nil
	c.health.Running = false
	h := c.health
	c.mu.Unlock()
	close(r.done)
	if r.hook != nil {
		<-r.hook // a call Run stopped waiting for (it called Shutdown, say) returns now
	}
	c.notifyHealth(context.WithoutCancel(ctx), nil, h)
}

// claim claims up to n envelopes. The claim runs on a context that the shutdown does
// not cancel, bounded by consumerClaimTimeout: a cancelled claim may have committed
// in the store while the caller sees only the cancellation (pgx does that), leaving
// its envelopes leased to nobody until the lease runs out. Whatever arrives once
// the shutdown has begun is released at once, unhandled and its attempt uncounted.
func (c *Consumer) claim(loop context.Context, n int) ([]Delivery, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(loop), consumerClaimTimeout)
	defer cancel()
	ds, err := c.cfg.Queue.Claim(ctx, n, c.cfg.Lease)
	if loop.Err() != nil && len(ds) > 0 {
		c.releaseAll(loop, ds) // its own answer timeout, not what the claim left of consumerClaimTimeout
		ds = nil
	}
	return ds, err
}

// releaseAll releases deliveries that will not be handled.
func (c *Consumer) releaseAll(ctx context.Context, ds []Delivery) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), consumerAnswerTimeout)
	defer cancel()
	for _, d := range ds {
		if err := c.cfg.Queue.Release(actx, d.Lease); err != nil {
			c.cfg.Logger.ErrorContext(actx, "storagefirst: releasing an envelope claimed during shutdown failed; it is due again when its lease ends",
				"envelope_id", d.Envelope.ID, "error", err)
		}
	}
}

// drain waits for the in-flight handlers once claiming has stopped: until they are
// done, or until the grace period ends (ShutdownTimeout after Run's context ended,
// or the end of Shutdown's context); then it cancels them, so that they release
// their envelopes, and waits consumerAbandonAfter for those that ignore it.
// inflight is how many handlers were still running when claiming stopped.
func (c *Consumer) drain(ctx context.Context, r *consumerRun, wg *sync.WaitGroup, inflight int, cancelHandlers context.CancelFunc) {
	if inflight == 0 {
		wg.Wait() // at most a handler goroutine's last instructions
		return
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	c.mu.Lock()
	byShutdown := r.byShutdown
	c.mu.Unlock()
	var grace <-chan time.Time
	if !byShutdown {
		grace = c.cfg.Clock.After(c.cfg.ShutdownTimeout)
	}
	select {
	case <-done:
		return
	case <-grace:
	case <-r.cancelNow:
	}
	cancelHandlers()
	select {
	case <-done:
	case <-c.cfg.Clock.After(consumerAbandonAfter):
		// Their leases are no longer extended, so their envelopes come back.
		c.cfg.Logger.ErrorContext(ctx, "storagefirst: handlers ignored cancellation; Run returns without them")
	}
}

// Shutdown stops the consumer for good, as http.Server.Shutdown does: the running
// Run stops claiming at once and waits for its in-flight handlers, and any later
// Run returns ErrClosed. Shutdown returns nil once Run has returned. When ctx ends
// first, the handlers still running are cancelled (their envelopes are released)
// and Shutdown returns ctx.Err() at once; Run returns as soon as they have
// answered. ShutdownTimeout does not apply: ctx is the grace period. Cancelling
// Run's context remains the other way to stop it.
func (c *Consumer) Shutdown(ctx context.Context) error {
	c.mu.Lock()
	c.closed = true
	r := c.run
	if r != nil {
		r.byShutdown = true
	}
	c.mu.Unlock()
	if r == nil {
		return nil
	}
	r.stop()
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
	}
	r.cancelOnce.Do(func() { close(r.cancelNow) })
	return ctx.Err()
}
