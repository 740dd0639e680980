package shop

import (
	"context"

	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/workflow"
)

// Queue is what the shop needs of a store's queue.
type Queue interface {
	storagefirst.Queue
	storagefirst.DeadLetters
	storagefirst.StatsReporter
	workflow.DeadLetterDestination
}

// Orders is the order table, with the transactions that tie it to the queue and
// the idempotency records. Both backends implement it with parameterised SQL.
type Orders interface {
	// Accept stores the order as accepted and enqueues p.Envelope, in one
	// transaction. With p.Key set, the same transaction records the
	// Idempotency-Key (the queue's PutKeyedTx): when the key already has a record,
	// nothing is written and the result carries the record (Stored false). An
	// error wrapping storagefirst.ErrOutcomeUnknown means the commit may have
	// happened.
	Accept(ctx context.Context, p storagefirst.KeyedPut, o Order) (storagefirst.KeyedResult, error)
	// Create marks the order created (inserting it if it is not there, for an
	// envelope that came another way) and completes the idempotency claim in ctx,
	// in one transaction.
	Create(ctx context.Context, o Order) error
	// MarkFailed marks an accepted order failed (its envelope was dead-lettered).
	MarkFailed(ctx context.Context, id string) error
	Get(ctx context.Context, id string) (Order, error)
	// List returns up to limit orders with IDs after the given one, in ID order,
	// which is the order they were placed in (IDs are UUIDv7s).
	List(ctx context.Context, after string, limit int) ([]Order, error)
	// Cancel cancels the order named by c, if its state allows.
	Cancel(ctx context.Context, c CancelOrder) (Order, error)
}

// Backend is one store with everything the shop keeps.
type Backend interface {
	Name() string
	Orders() Orders
	// OrdersQueue carries create-order envelopes; its dead letters are failed
	// creates. CancelQueue keeps failed cancellations as dead letters, and runs
	// them again when they are replayed.
	OrdersQueue() Queue
	CancelQueue() Queue
	Idempotency() storagefirst.IdempotencyStore
	Workflows() workflow.Store
	Ping(ctx context.Context) error
	Close()
}
