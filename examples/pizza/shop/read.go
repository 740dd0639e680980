package shop

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// OrderReader is the read side of Orders: all that GET /orders and GET
// /orders/{id} need.
type OrderReader interface {
	Get(ctx context.Context, id string) (Order, error)
	List(ctx context.Context, after string, limit int) ([]Order, error)
}

// ReadHandler serves GET /orders and GET /orders/{id} alone, as Handler does,
// from orders. A deployment that serves the reads apart (the list-orders Lambda)
// wires only this, so that it links and may do nothing else.
func ReadHandler(orders OrderReader, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.Default()
	}
	s := &Shop{orders: readOnly{r: orders}, cfg: Config{Logger: logger}, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /orders", s.list)
	s.mux.HandleFunc("GET /orders/{id}", s.get)
	return s.mux
}

// OrderCanceller is the cancel side of Orders: all the cancel task needs.
type OrderCanceller interface {
	Cancel(ctx context.Context, c CancelOrder) (Order, error)
}

// CancelFunc is the cancel workflow's task (Shop.CancelOrder) alone, on orders:
// for a process that only runs that task (the cancel-order Lambda), so that it
// links and may do nothing else.
func CancelFunc(orders OrderCanceller) func(context.Context, CancelInput) (Order, error) {
	s := &Shop{orders: cancelOnly{c: orders}}
	return s.CancelOrder
}

// cancelOnly is an OrderCanceller as Orders; any other call panics.
type cancelOnly struct {
	Orders
	c OrderCanceller
}

func (o cancelOnly) Cancel(ctx context.Context, c CancelOrder) (Order, error) {
	return o.c.Cancel(ctx, c)
}

// readOnly is an OrderReader as Orders for ReadHandler's Shop, which calls only
// Get and List; the embedded nil Orders makes any other call panic.
type readOnly struct {
	Orders
	r OrderReader
}

func (o readOnly) Get(ctx context.Context, id string) (Order, error) { return o.r.Get(ctx, id) }
func (o readOnly) List(ctx context.Context, after string, limit int) ([]Order, error) {
	return o.r.List(ctx, after, limit)
}

// OrderCreator is the create side of Orders: all the create-order consumer needs.
type OrderCreator interface {
	Create(ctx context.Context, o Order) error
}

// CreateHandlerFor is the create-order consumer's handler chain (Shop.CreateHandler)
// alone, on orders and the idempotency records in idem: for a process that only
// consumes creates (the create-order Lambda), so that it links and may do nothing
// else. It fails as storagefirst.Idempotent does (no idempotency store).
func CreateHandlerFor(orders OrderCreator, idem storagefirst.IdempotencyStore) (storagefirst.Handler, error) {
	// Keyed on the envelope's Key: on AWS no front door stores one envelope per
	// Idempotency-Key (API Gateway puts each request's event as it comes), so the
	// client's key, carried in the event, is what makes a retried POST one order.
	mw, err := createIdempotency(idem, nil)
	if err != nil {
		return nil, err
	}
	s := &Shop{orders: createOnly{c: orders}, createMW: mw}
	return s.CreateHandler(), nil
}

// createOnly is an OrderCreator as Orders; any other call panics.
type createOnly struct {
	Orders
	c OrderCreator
}

func (o createOnly) Create(ctx context.Context, ord Order) error { return o.c.Create(ctx, ord) }
