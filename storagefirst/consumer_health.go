package storagefirst

import (
	"context"
	"errors"
	"time"
)

// ErrClaimFailing is wrapped by the error Run returns when claims failed, without a
// success in between, for ConsumerConfig.FailAfter.
var ErrClaimFailing = errors.New("storagefirst: consumer gave up: claims keep failing")

// ConsumerHealth is a snapshot of a Consumer's health, for a health check or an
// alert: whether it runs, and whether it can reach its queue.
type ConsumerHealth struct {
	// Running is true while Run is consuming.
	Running bool
	// ClaimFailures counts the claims that failed since the last one that
	// succeeded; zero when the queue answers.
	ClaimFailures int
	// FailingSince is when the first of those failures happened (zero when none).
	FailingSince time.Time
	// LastClaimError is the latest claim error (nil when claims succeed).
	LastClaimError error
}

// Healthy reports whether the consumer is running and its claims succeed.
func (h ConsumerHealth) Healthy() bool { return h.Running && h.ClaimFailures == 0 }

// Health returns the consumer's current health. It is safe to call at any time,
// also concurrently with Run.
func (c *Consumer) Health() ConsumerHealth {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.health
}

// claimFailed records a failed claim; it returns the number of failures in a row
// and how long claims have been failing.
func (c *Consumer) claimFailed(ctx context.Context, r *consumerRun, err error) (int, time.Duration) {
	now := c.cfg.Clock.Now()
	c.mu.Lock()
	first := c.health.ClaimFailures == 0
	if first {
		c.health.FailingSince = now
	}
	c.health.ClaimFailures++
	c.health.LastClaimError = err
	h := c.health
	c.mu.Unlock()
	if first {
		c.notifyHealth(ctx, r, h)
	}
	return h.ClaimFailures, now.Sub(h.FailingSince)
}

// claimSucceeded records a claim that succeeded.
func (c *Consumer) claimSucceeded(ctx context.Context, r *consumerRun) {
	c.mu.Lock()
	recovered := c.health.ClaimFailures > 0
	c.health.ClaimFailures, c.health.FailingSince, c.health.LastClaimError = 0, time.Time{}, nil
	h := c.health
	c.mu.Unlock()
	if recovered {
		c.notifyHealth(ctx, r, h)
	}
}

// notifyHealth calls OnHealthChange with h. While r runs (r not nil), Run waits
// for the hook to return unless r stops meanwhile: so a hook that calls Shutdown,
// which waits for Run to return, does not deadlock. Calls never overlap: a call
// that Run stopped waiting for is followed by the next one only once it returned.
// With r nil (Run has ended) the hook runs in the caller, after every earlier call.
func (c *Consumer) notifyHealth(ctx context.Context, r *consumerRun, h ConsumerHealth) {
	hook := c.cfg.OnHealthChange
	if hook == nil {
		return
	}
	if r == nil {
		hook(ctx, h)
		return
	}
	prev, done := r.hook, make(chan struct{})
	r.hook = done
	go func() {
		defer close(done)
		if prev != nil {
			<-prev
		}
		hook(ctx, h)
	}()
	select {
	case <-done:
	case <-r.loop.Done():
	}
}
