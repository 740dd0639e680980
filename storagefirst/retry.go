package storagefirst

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// RetryConfig configures the Retry middleware. The zero value is usable.
type RetryConfig struct {
	// Policy says which errors are retried, how often and after what wait.
	Policy RetryPolicy
	// Clock measures the waits. Nil means SystemClock.
	Clock Clock
	// OnRetry, if set, is called before each wait with the error, the retry number
	// (1 for the first) and the wait.
	OnRetry func(ctx context.Context, env Envelope, err error, retry int, wait time.Duration)
	// Logger, if set, logs each retry at Debug level.
	Logger *slog.Logger
}

// Retry returns middleware that retries the handler in process under cfg.Policy.
//
// Permanent and canceled errors are returned at once. A retryable error is retried
// after the policy's delay unless the retries are used up or the wait would end
// after ctx's deadline: Retry never sleeps past the deadline, it returns the last
// error instead, so the caller still has time to record the failure. When ctx ends
// during a wait, the returned error wraps both ctx.Err() and the last error.
//
// Use it for short, in-process retries (a flaky dependency within one delivery); the
// Consumer schedules durable retries across deliveries with the same RetryPolicy.
//
// Retry returns an error when cfg.Policy is invalid (see RetryPolicy.Validate).
func Retry(cfg RetryConfig) (Middleware, error) {
	if err := cfg.Policy.Validate(); err != nil {
		return nil, err
	}
	clock := clockOrSystem(cfg.Clock)
	return func(next Handler) Handler {
		r := &retryHandler{}
		r.fn = func(ctx context.Context, env Envelope) error {
			// Given the delivery whole, Retry gives each attempt of next the
			// delivery whole too.
			defer PassDelivery(ctx, r, next)()
			b := &deadlineBackOff{policyBackOff: policyBackOff{policy: cfg.Policy}, ctx: ctx}
			var lastErr error
			op := func() error {
				lastErr = next.Handle(ctx, env)
				b.lastErr = lastErr
				if lastErr != nil {
					// The attempt's transaction did not commit, or its outcome is
					// not the delivery's: an acknowledgement or a record it made in
					// it is not there for the next attempt.
					clearAcked(ctx)
					clearOutcomeRecorded(ctx)
				}
				return lastErr
			}
			notify := func(err error, wait time.Duration) {
				if cfg.OnRetry != nil {
					cfg.OnRetry(ctx, env, err, b.retries, wait)
				}
				if cfg.Logger != nil {
					cfg.Logger.DebugContext(ctx, "storagefirst: retrying", "envelope_id", env.ID,
						"retry", b.retries, "wait", wait, "error", err)
				}
			}
			err := backoff.RetryNotifyWithTimer(op, backoff.WithContext(b, ctx), notify, &clockTimer{clock: clock})
			if err != nil && lastErr != nil && err != lastErr && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
				return fmt.Errorf("storagefirst: retry interrupted: %w", errors.Join(err, lastErr))
			}
			return err
		}
		return r
	}, nil
}

// retryHandler is the Handler Retry returns; a pointer, so that a delivery's
// context can tell whether it is the handler the delivery was given to.
type retryHandler struct {
	fn HandlerFunc
}

// Handle runs the envelope through the middleware.
func (r *retryHandler) Handle(ctx context.Context, env Envelope) error { return r.fn(ctx, env) }

// deadlineBackOff stops instead of waiting past ctx's deadline.
type deadlineBackOff struct {
	policyBackOff
	ctx context.Context
}

func (b *deadlineBackOff) NextBackOff() time.Duration {
	d := b.policyBackOff.NextBackOff()
	if d == backoff.Stop {
		return d
	}
	if dl, ok := b.ctx.Deadline(); ok && d >= time.Until(dl) { // deadlines are wall-clock time
		return backoff.Stop
	}
	return d
}

// clockTimer is a backoff.Timer on a Clock.
type clockTimer struct {
	clock Clock
	c     <-chan time.Time
}

func (t *clockTimer) Start(d time.Duration) { t.c = t.clock.After(d) }
func (t *clockTimer) Stop()                 {}
func (t *clockTimer) C() <-chan time.Time   { return t.c }
