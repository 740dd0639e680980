package storagefirst

import (
	"context"
	"reflect"
	"sync"
	"sync/atomic"
)

// deliveryHolder is what a Consumer puts in the handler's context: the queue and
// the lease of the delivery being handled. The lease's Until moves when the
// Consumer extends it; its token does not.
type deliveryHolder struct {
	queue Queue
	mu    sync.Mutex
	lease Lease
	acked atomic.Bool
	// entry is the handler the delivery is given to whole: the one the Consumer
	// calls, or the one a Retry that was given it whole hands each attempt to. Only
	// an Idempotent middleware that is the entry may acknowledge the delivery in
	// its handler's transaction (ClaimAcksDelivery): any other Idempotent scope may
	// be one of several on the delivery, and acknowledging with it would lose the
	// others' effects.
	entry Handler
}

// sameHandler reports whether a and b are the same handler: the same pointer.
// Handlers of any other kind (a HandlerFunc, a struct value) are never the same,
// so that comparing them cannot panic.
func sameHandler(a, b Handler) bool {
	if a == nil || b == nil {
		return false
	}
	ta := reflect.TypeOf(a)
	return ta.Kind() == reflect.Pointer && ta == reflect.TypeOf(b) && a == b
}

// isEntry reports whether self is the handler the delivery is given to whole.
func (h *deliveryHolder) isEntry(self Handler) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return sameHandler(h.entry, self)
}

// handOver makes to the entry while from is; it returns a func restoring from.
func (h *deliveryHolder) handOver(from, to Handler) (restore func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !sameHandler(h.entry, from) {
		return func() {}
	}
	h.entry = to
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.entry = from
	}
}

// PassDelivery is for a middleware that hands the delivery in ctx whole to its
// next handler (calls it once per attempt, with the envelope as it came, and
// returns what it returns), as Retry does: when from, the middleware's own
// Handler, is the handler the delivery was given to whole (WithDeliveryLease,
// a Consumer's Handler), to becomes it until restore is called. An Idempotent
// middleware given the delivery whole acknowledges it in its handler's
// transaction (ClaimAcksDelivery); behind a middleware that does not pass the
// delivery on, the acknowledgement is the Consumer's, after the handler
// returns. from must be a pointer: a HandlerFunc or a struct value never
// matches. Call restore when the call to to has returned.
func PassDelivery(ctx context.Context, from, to Handler) (restore func()) {
	if d, ok := deliveryHolderFrom(ctx); ok {
		return d.handOver(from, to)
	}
	return func() {}
}

func deliveryHolderFrom(ctx context.Context) (*deliveryHolder, bool) {
	h, ok := ctx.Value(deliveryContextKey{}).(*deliveryHolder)
	return h, ok
}

func (h *deliveryHolder) current() Lease {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lease
}

func (h *deliveryHolder) extended(l Lease) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lease.ID == l.ID && h.lease.Token == l.Token {
		h.lease.Until = l.Until
	}
}

type deliveryContextKey struct{}

func withDeliveryHolder(ctx context.Context, q Queue, l Lease, entry Handler) (context.Context, *deliveryHolder) {
	h := &deliveryHolder{queue: q, lease: l, entry: entry}
	return context.WithValue(ctx, deliveryContextKey{}, h), h
}

// WithDeliveryLease returns ctx carrying the queue and the lease of the delivery a
// handler is about to handle. The Consumer calls it for every handler call, so that
// a store can acknowledge the delivery inside the handler's own transaction (see
// MarkAcked); a loop of one's own that drives a Queue may call it too, and then
// check AckedInContext before acknowledging. h is the handler the delivery is
// given to (and to be called with the returned context): only when h is an
// Idempotent middleware, or a Retry middleware around one, does a completion of
// its claim acknowledge the delivery in the handler's transaction (see
// ClaimAcksDelivery). Any other Idempotent scope on the delivery (nested, or one
// of several a handler calls in turn) only records its outcome, and the delivery
// is acknowledged after the handler returns, once all of them are done.
func WithDeliveryLease(ctx context.Context, q Queue, l Lease, h Handler) context.Context {
	ctx, _ = withDeliveryHolder(ctx, q, l, h)
	return ctx
}

// DeliveryLeaseFromContext returns the queue and the current lease of the delivery
// being handled, as the Consumer put them in the handler's context.
func DeliveryLeaseFromContext(ctx context.Context) (Queue, Lease, bool) {
	h, ok := deliveryHolderFrom(ctx)
	if !ok {
		return nil, Lease{}, false
	}
	return h.queue, h.current(), true
}

// MarkAcked tells the Consumer that the handler acknowledged its delivery itself,
// in the transaction that applied the envelope's effect: pgstore's CompleteTx,
// CompleteFromContext and CompleteBatch call it when the queue and the idempotency
// records share the store, so that one commit carries the effect, the idempotency
// record and the acknowledgement. When the handler then returns nil, the Consumer
// reports the delivery acked without acknowledging it a second time. A handler
// that returns nil must have committed that transaction; one that returns an error
// is answered as usual (if its transaction did commit, that answer finds the lease
// gone and the delivery is reported ActionLeaseLost: it is done all the same).
func MarkAcked(ctx context.Context) {
	if h, ok := deliveryHolderFrom(ctx); ok {
		h.acked.Store(true)
	}
}

// clearAcked forgets a MarkAcked of an attempt that failed: its transaction did
// not commit (or its outcome is not the delivery's), so a later attempt that
// succeeds without acknowledging leaves the acknowledgement to the Consumer.
func clearAcked(ctx context.Context) {
	if h, ok := deliveryHolderFrom(ctx); ok {
		h.acked.Store(false)
	}
}

// AckedInContext reports whether MarkAcked was called for the delivery in ctx.
func AckedInContext(ctx context.Context) bool {
	h, ok := deliveryHolderFrom(ctx)
	return ok && h.acked.Load()
}
