package workflow

import (
	"context"
	"sync"
	"time"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// withDeadline returns a context that ends, with context.DeadlineExceeded, when
// the clock reaches deadline, or when parent ends. With the system clock it is
// context.WithDeadline; with any other clock (a fake one in tests) the deadline
// is timed by that clock, so the engine's deadlines and its waits share one clock
// and a test of a timeout needs no real waiting.
func withDeadline(parent context.Context, clock storagefirst.Clock, deadline time.Time) (context.Context, context.CancelFunc) {
	if _, ok := clock.(storagefirst.SystemClock); ok {
		return context.WithDeadline(parent, deadline)
	}
	wait := deadline.Sub(clock.Now())
	c := &clockCtx{Context: parent, done: make(chan struct{}), stop: make(chan struct{}), deadline: time.Now().Add(wait)}
	if d, ok := parent.Deadline(); ok && d.Before(c.deadline) {
		c.deadline = d
	}
	if wait <= 0 {
		c.end(context.DeadlineExceeded)
		return c, func() {}
	}
	timer := clock.After(wait)
	go func() {
		select {
		case <-timer:
			c.end(context.DeadlineExceeded)
		case <-parent.Done():
			c.end(parent.Err())
		case <-c.stop:
			c.end(context.Canceled)
		}
	}()
	var once sync.Once
	return c, func() { once.Do(func() { close(c.stop) }) }
}

// clockCtx is a context whose deadline is kept by a storagefirst.Clock.
type clockCtx struct {
	context.Context
	deadline time.Time // the deadline in wall time, for Deadline()
	done     chan struct{}
	stop     chan struct{}
	mu       sync.Mutex
	err      error
}

func (c *clockCtx) end(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
		close(c.done)
	}
}

// Deadline returns the wall-clock equivalent of the clock's deadline.
func (c *clockCtx) Deadline() (time.Time, bool) { return c.deadline, true }

// Done is closed when the deadline passes or the parent ends.
func (c *clockCtx) Done() <-chan struct{} { return c.done }

// Err is context.DeadlineExceeded after the deadline, the parent's error after it
// ended, context.Canceled after cancel.
func (c *clockCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Value is the parent's.
func (c *clockCtx) Value(key any) any { return c.Context.Value(key) }
