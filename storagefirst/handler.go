package storagefirst

import "context"

// Handler processes one envelope after it has been persisted.
//
// Handle returns nil when the envelope's effect has been applied (or was already
// applied: handlers see at-least-once delivery and must be idempotent, which the
// Idempotent middleware provides). A non-nil error is classified with Classify:
// permanent errors go to the dead letters, retryable ones are retried under the
// RetryPolicy, context.Canceled releases the envelope for another delivery.
//
// Handle must honour ctx's deadline and cancellation. It may be called from many
// goroutines at once, and must not keep or modify env's Metadata or Payload after it
// returns.
type Handler interface {
	Handle(ctx context.Context, env Envelope) error
}

// HandlerFunc lets an ordinary function be a Handler.
type HandlerFunc func(ctx context.Context, env Envelope) error

// Handle calls f(ctx, env).
func (f HandlerFunc) Handle(ctx context.Context, env Envelope) error { return f(ctx, env) }

// Middleware wraps a Handler with behaviour of its own (retries, idempotency, dead
// letters, logging). It is the one middleware shape of the module.
type Middleware func(Handler) Handler

// Chain returns h wrapped in mws. The first middleware is the outermost: it sees the
// envelope first and the result last, as in Chain(h, Idempotent, Retry), where the
// idempotency check happens once around all of Retry's attempts.
func Chain(h Handler, mws ...Middleware) Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		if mws[i] != nil {
			h = mws[i](h)
		}
	}
	return h
}
