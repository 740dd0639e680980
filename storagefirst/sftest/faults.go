package sftest

import (
	"context"
	"sync"
	"time"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// Faults injects write failures into a fake. The zero value injects nothing.
type Faults struct {
	mu        sync.Mutex
	failNext  int
	failErr   error
	failWhere func(storagefirst.Envelope) error
	delay     time.Duration
}

// FailNextPuts makes the next n Put calls fail whole with err, storing nothing.
func (f *Faults) FailNextPuts(n int, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext, f.failErr = n, err
}

// FailPutsWhere makes Put fail the envelopes for which fn returns an error, storing
// the others: a partial failure. Nil turns it off.
func (f *Faults) FailPutsWhere(fn func(storagefirst.Envelope) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failWhere = fn
}

// SetPutDelay makes every Put wait d (or until its context ends) before writing.
func (f *Faults) SetPutDelay(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delay = d
}

// before runs the faults for a Put of envs: it returns the per-envelope failures to
// report, or an error that fails the whole call.
func (f *Faults) before(ctx context.Context, envs []storagefirst.Envelope) ([]storagefirst.FailedEnvelope, error) {
	f.mu.Lock()
	delay, where := f.delay, f.failWhere
	var whole error
	if f.failNext > 0 {
		f.failNext--
		whole = f.failErr
	}
	f.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if whole != nil {
		return nil, whole
	}
	var failed []storagefirst.FailedEnvelope
	if where != nil {
		for _, e := range envs {
			if err := where(e); err != nil {
				failed = append(failed, storagefirst.FailedEnvelope{ID: e.ID, Err: err})
			}
		}
	}
	return failed, ctx.Err()
}
