package storeshape_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/storagefirst/storagefirst-go/dlq"
	"github.com/storagefirst/storagefirst-go/ingest"
	"github.com/storagefirst/storagefirst-go/pgstore"
	"github.com/storagefirst/storagefirst-go/sqlitestore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/workflow"
)

// queue is a store's Queue, generic in the store's transaction type Tx.
type queue[Tx any] interface {
	storagefirst.Queue
	storagefirst.Waker
	storagefirst.DeadLetters
	storagefirst.StatsReporter
	dlq.Destination
	ingest.KeyedSink
	Name() string
	Enqueue(ctx context.Context, envs ...storagefirst.Envelope) (storagefirst.PutResult, error)
	PutTx(ctx context.Context, tx Tx, envs ...storagefirst.Envelope) (storagefirst.PutResult, error)
	PutKeyedTx(ctx context.Context, tx Tx, p storagefirst.KeyedPut) (storagefirst.KeyedResult, error)
}

// idempotency is a store's IdempotencyStore, generic in Tx.
type idempotency[Tx any] interface {
	storagefirst.IdempotencyStore
	CompleteTx(ctx context.Context, tx Tx, c storagefirst.Claim, outcome storagefirst.Outcome, ttl time.Duration) error
	CompleteFromContext(ctx context.Context, tx Tx) error
	Reap(ctx context.Context, staleAfter time.Duration, limit int) (int64, error)
	RunReaper(ctx context.Context, interval, staleAfter time.Duration)
}

// store is a Store, generic in Tx and in the types it hands out.
type store[Tx any, Q queue[Tx], I idempotency[Tx], W workflow.Store] interface {
	Queue(name string) (Q, error)
	Idempotency() I
	Workflows() W
	WriteTx(ctx context.Context, fn func(tx Tx) error) error
	Close() error
}

// queueOf is a Queue that knows its Store.
type queueOf[S any] interface {
	Store() S
}

// sameShape compiles only when S, Q, I and W have the shape above for Tx.
func sameShape[Tx any, Q interface {
	queue[Tx]
	queueOf[S]
}, I idempotency[Tx], W workflow.Store, S store[Tx, Q, I, W]]() {
}

// Both stores have the same shape: a difference is a compile error here.
var (
	_ = sameShape[pgx.Tx, *pgstore.Queue, *pgstore.IdempotencyStore, *pgstore.WorkflowStore, *pgstore.Store]
	_ = sameShape[*sql.Tx, *sqlitestore.Queue, *sqlitestore.IdempotencyStore, *sqlitestore.WorkflowStore, *sqlitestore.Store]
)

// TestStoresHaveTheSameShape is the check above, run so that go test reports it.
func TestStoresHaveTheSameShape(t *testing.T) {
	sameShape[pgx.Tx, *pgstore.Queue, *pgstore.IdempotencyStore, *pgstore.WorkflowStore, *pgstore.Store]()
	sameShape[*sql.Tx, *sqlitestore.Queue, *sqlitestore.IdempotencyStore, *sqlitestore.WorkflowStore, *sqlitestore.Store]()
}
