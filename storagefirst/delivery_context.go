package storagefirst

import (
	"context"
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

func withDeliveryHolder(ctx context.Context, q Queue, l Lease) (context.Context, *deliveryHolder) {
	h := &deliveryHolder{queue: q, lease: l}
	return context.WithValue(ctx, deliveryContextKey{}, h), h
}

// WithDeliveryLease returns ctx carrying the queue and the lease of the delivery a
// handler is about to handle. The Consumer calls it for every handler call, so that
// a store can acknowledge the delivery inside the handler's own transaction (see
// MarkAcked); a loop of one's own that drives a Queue may call it too, and then
// check AckedInContext before acknowledging.
func WithDeliveryLease(ctx context.Context, q Queue, l Lease) context.Context {
	ctx, _ = withDeliveryHolder(ctx, q, l)
	return ctx
}

// DeliveryLeaseFromContext returns the queue and the current lease of the delivery
// being handled, as the Consumer put them in the handler's context.
func DeliveryLeaseFromContext(ctx context.Context) (Queue, Lease, bool) {
	h, ok := ctx.Value(deliveryContextKey{}).(*deliveryHolder)
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
	if h, ok := ctx.Value(deliveryContextKey{}).(*deliveryHolder); ok {
		h.acked.Store(true)
	}
}

// AckedInContext reports whether MarkAcked was called for the delivery in ctx.
func AckedInContext(ctx context.Context) bool {
	h, ok := ctx.Value(deliveryContextKey{}).(*deliveryHolder)
	return ok && h.acked.Load()
}
