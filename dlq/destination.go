package dlq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// Destination keeps dead letters. SendDeadLetter returns nil only once dl is
// durable. pgstore.Queue, sftest.MemoryQueue and sqs.Destination (dlq/sqs) implement it.
type Destination interface {
	SendDeadLetter(ctx context.Context, dl storagefirst.DeadLetter) error
}

// MiddlewareConfig configures Middleware. Destination is required.
type MiddlewareConfig struct {
	Destination Destination
	// Origin is recorded on each failure: which consumer failed (a function name,
	// a queue).
	Origin string
	// MaxAttempts, when positive, makes a retryable failure final only once the
	// envelope's Attempt has reached it: for event sources that redeliver (Lambda's
	// asynchronous retries, SQS receives). Zero makes every failure that reaches the
	// middleware final: put it outside storagefirst.Retry, which returns only when
	// its retries are used up.
	MaxAttempts int
	// Clock stamps failures. Default storagefirst.SystemClock.
	Clock storagefirst.Clock
	// Logger logs dead-lettered envelopes. Default slog.Default().
	Logger *slog.Logger
}

// sendTimeout bounds the write of a dead letter, even after the handler's context
// has ended.
const sendTimeout = 10 * time.Second

// Middleware returns middleware that dead-letters final failures: permanent
// errors, and retryable ones once MaxAttempts is reached (see MiddlewareConfig).
// When the dead letter is durable the handler's error is swallowed (the event
// source must not retry what is now in the DLQ); when the write fails, the returned
// error joins both, retryable, so the event source delivers again and nothing is
// lost. Canceled work is never dead-lettered.
//
// Middleware returns an error when cfg.Destination is nil or cfg.MaxAttempts is
// negative.
func Middleware(cfg MiddlewareConfig) (storagefirst.Middleware, error) {
	var errs []error
	if cfg.Destination == nil {
		errs = append(errs, errors.New("dlq: MiddlewareConfig.Destination is required"))
	}
	if cfg.MaxAttempts < 0 {
		errs = append(errs, fmt.Errorf("dlq: MiddlewareConfig.MaxAttempts %d is negative", cfg.MaxAttempts))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Clock == nil {
		cfg.Clock = storagefirst.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return func(next storagefirst.Handler) storagefirst.Handler {
		return storagefirst.HandlerFunc(func(ctx context.Context, env storagefirst.Envelope) error {
			if m := undecodableFrom(ctx, env); m != nil {
				// The stand-in of a record that holds no envelope: nothing after
				// this can handle it; dead-letter it now.
				dl := undecodableLetter(env, m.cause, cfg.Origin, cfg.Clock.Now())
				if err := sendUndecodableLetter(ctx, cfg.Destination, dl, m.cause); err != nil {
					return err
				}
				m.sent.Store(true)
				cfg.Logger.WarnContext(ctx, "dlq: undecodable record dead-lettered", "envelope_id", env.ID, "error", m.cause)
				return nil
			}
			herr := next.Handle(ctx, env)
			if herr == nil || !final(cfg, env, herr) {
				return herr
			}
			f := storagefirst.NewFailure(max(env.Attempt, 1), cfg.Clock.Now(), herr)
			f.Origin = cfg.Origin
			dl := storagefirst.DeadLetter{Envelope: env, Failures: []storagefirst.Failure{f}, DeadAt: cfg.Clock.Now()}
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sendTimeout)
			defer cancel()
			if err := cfg.Destination.SendDeadLetter(sctx, dl); err != nil {
				return storagefirst.Retryable(errors.Join(herr, fmt.Errorf("dlq: dead letter not stored: %w", err)))
			}
			cfg.Logger.WarnContext(ctx, "dlq: envelope dead-lettered", "envelope_id", env.ID, "type", env.Type,
				"attempt", env.Attempt, "class", f.Class, "error", herr)
			return nil
		})
	}, nil
}

func final(cfg MiddlewareConfig, env storagefirst.Envelope, err error) bool {
	switch storagefirst.Classify(err) {
	case storagefirst.ClassPermanent:
		return true
	case storagefirst.ClassCanceled:
		return false
	}
	return cfg.MaxAttempts <= 0 || env.Attempt >= cfg.MaxAttempts
}
