// Package pgshop is the pizza shop's backend on pgstore: the store's tables and
// the orders table in one schema.
package pgshop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storagefirst/storagefirst-go/examples/pizza/shop"
	"github.com/storagefirst/storagefirst-go/pgstore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/workflow"
)

// Postgres is the shop on pgstore: the store's tables and the orders table in one
// schema.
type Postgres struct {
	pool   *pgxpool.Pool
	store  *pgstore.Store
	orders *pgstore.Queue
	cancel *pgstore.Queue
	table  string // quoted schema.orders
}

// OpenPostgres connects, migrates the store and creates the orders table in schema.
func OpenPostgres(ctx context.Context, url, schema string) (*Postgres, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, err
	}
	b, err := OpenPostgresPool(ctx, pool, PostgresOptions{Schema: schema, Migrate: true})
	if err != nil {
		pool.Close()
		return nil, err
	}
	return b, nil
}

// PostgresOptions configures OpenPostgresPool.
type PostgresOptions struct {
	Schema string
	// Pooled: the pool goes through RDS Proxy or PgBouncer (pgstore.Config.Pooled).
	Pooled bool
	// Migrate applies the store's migrations and creates the orders table; on AWS
	// only the migration function does.
	Migrate bool
	// Roles, with Migrate, creates the application roles and their grants.
	Roles Roles
}

// OpenPostgresPool opens the shop on an existing pool (which it then owns).
func OpenPostgresPool(ctx context.Context, pool *pgxpool.Pool, opts PostgresOptions) (*Postgres, error) {
	b, err := attach(pool, opts.Schema, opts.Pooled)
	if err != nil {
		return nil, err
	}
	if opts.Migrate {
		if err := Migrate(ctx, pool, b.store.Schema(), opts.Roles); err != nil {
			b.store.Close()
			return nil, err
		}
	}
	return b, nil
}

// attach opens the shop on pool without migrating: the store, its queues and
// the orders table, in the store's schema (pgstore.SchemaDefault when schema is
// empty, as for the store's own tables and the migrations).
func attach(pool *pgxpool.Pool, schema string, pooled bool) (*Postgres, error) {
	st, err := pgstore.New(pool, pgstore.Config{Schema: schema, Pooled: pooled})
	if err != nil {
		return nil, err
	}
	b := &Postgres{pool: pool, store: st, table: NewTable(pool, st.Schema()).table}
	b.orders, _ = st.Queue("create-order")
	b.cancel, _ = st.Queue("cancel-order")
	return b, nil
}

func (b *Postgres) Name() string                               { return "postgres schema " + b.store.Schema() }
func (b *Postgres) Orders() shop.Orders                        { return pgOrders{b} }
func (b *Postgres) OrdersQueue() shop.Queue                    { return b.orders }
func (b *Postgres) CancelQueue() shop.Queue                    { return b.cancel }
func (b *Postgres) Idempotency() storagefirst.IdempotencyStore { return b.store.Idempotency() }
func (b *Postgres) Workflows() workflow.Store                  { return b.store.Workflows() }
func (b *Postgres) Ping(ctx context.Context) error             { return b.pool.Ping(ctx) }
func (b *Postgres) Close()                                     { b.store.Close(); b.pool.Close() }

// BatchStoreName names the store in the group-commit metrics.
func (b *Postgres) BatchStoreName() string { return "postgres" }

// PutBatchStats returns the store's group-commit put counters
// (pgstore.Store.BatchStats): the envelopes stored and the transactions that
// stored them. The shop measures them with Config.Telemetry.
func (b *Postgres) PutBatchStats() (envelopes, batches int64) {
	st := b.store.BatchStats()
	return st.PutEnvelopes, st.PutBatches
}

type pgOrders struct{ b *Postgres }

func (o pgOrders) Accept(ctx context.Context, p storagefirst.KeyedPut, ord shop.Order) (storagefirst.KeyedResult, error) {
	items, _ := json.Marshal(shop.ItemsOrEmpty(ord.Items))
	var res storagefirst.KeyedResult
	err := o.b.store.WriteTx(ctx, func(tx pgx.Tx) error {
		var err error
		if p.Key == "" {
			_, err = o.b.orders.PutTx(ctx, tx, p.Envelope)
			res.Stored = err == nil
		} else {
			res, err = o.b.orders.PutKeyedTx(ctx, tx, p)
		}
		if err != nil || !res.Stored {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO `+o.b.table+` (id, username, items, status) VALUES ($1, $2, $3, 'accepted')
			ON CONFLICT (id) DO NOTHING`, ord.ID, ord.Username, string(items))
		return err
	})
	if err != nil {
		return storagefirst.KeyedResult{}, err
	}
	return res, nil
}

func (o pgOrders) Create(ctx context.Context, ord shop.Order) error {
	return Creator{pool: o.b.pool, table: o.b.table, idem: o.b.store.Idempotency()}.Create(ctx, ord)
}

// Creator is the create side of the shop alone (a shop.OrderCreator and its
// idempotency store), without the store's queues: for the create-order
// consumer whose envelopes come from elsewhere (the Lambda function behind the
// EventBridge rule), which then links none of the queues' code.
type Creator struct {
	pool  *pgxpool.Pool
	table string
	idem  *pgstore.IdempotencyStore
}

// CreatorWriteTimeout bounds a Creator's idempotency claims (Begin, which
// finishes even when its caller has gone so as to release what it took): well
// within the create-order function's 10 s timeout, so no claim outlives the
// invocation that asked for it.
const CreatorWriteTimeout = 5 * time.Second

// NewCreator is the orders table and the idempotency records in schema
// (pgstore.SchemaDefault when empty), through pool (pgstore.NewIdempotencyStore;
// the schema must have been migrated).
func NewCreator(pool *pgxpool.Pool, schema string) (Creator, error) {
	idem, err := pgstore.NewIdempotencyStore(pool, pgstore.Config{Schema: schema, WriteTimeout: CreatorWriteTimeout})
	if err != nil {
		return Creator{}, err
	}
	return Creator{pool: pool, table: NewTable(pool, schema).table, idem: idem}, nil
}

// Idempotency is the store of the creates' idempotency records.
func (c Creator) Idempotency() *pgstore.IdempotencyStore { return c.idem }

// Create marks the order created (inserting it if it is not there) and
// completes the idempotency claim in ctx, in one transaction.
func (c Creator) Create(ctx context.Context, ord shop.Order) error {
	items, _ := json.Marshal(shop.ItemsOrEmpty(ord.Items))
	return pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO `+c.table+` AS o (id, username, items, status) VALUES ($1, $2, $3, 'created')
			ON CONFLICT (id) DO UPDATE SET status = 'created', updated_at = now() WHERE o.status IN ('accepted', 'failed')`,
			ord.ID, ord.Username, string(items)); err != nil {
			return err
		}
		return c.idem.CompleteFromContext(ctx, tx)
	})
}

func (o pgOrders) MarkFailed(ctx context.Context, id string) error {
	_, err := o.b.pool.Exec(ctx, `UPDATE `+o.b.table+` SET status = 'failed', updated_at = now() WHERE id = $1 AND status = 'accepted'`, id)
	return err
}

const pgColumns = `id, username, items, status, created_at, updated_at`

func scanPG(row pgx.Row) (shop.Order, error) {
	var ord shop.Order
	var items []byte
	if err := row.Scan(&ord.ID, &ord.Username, &items, &ord.Status, &ord.CreatedAt, &ord.UpdatedAt); err != nil {
		return ord, err
	}
	ord.CreatedAt, ord.UpdatedAt = ord.CreatedAt.UTC(), ord.UpdatedAt.UTC()
	return ord, json.Unmarshal(items, &ord.Items)
}

func (o pgOrders) Get(ctx context.Context, id string) (shop.Order, error) {
	return Table{o.b.pool, o.b.table}.Get(ctx, id)
}

func (o pgOrders) List(ctx context.Context, after string, limit int) ([]shop.Order, error) {
	return Table{o.b.pool, o.b.table}.List(ctx, after, limit)
}

// Table is the orders table alone, without the store (a shop.OrderReader and
// shop.OrderCanceller): for a process that only reads orders (as the reader
// role, Roles, may) or only cancels them, and links no more.
type Table struct {
	pool  *pgxpool.Pool
	table string
}

// NewTable is the orders table in schema (pgstore.SchemaDefault when empty),
// through pool.
func NewTable(pool *pgxpool.Pool, schema string) Table {
	if schema == "" {
		schema = pgstore.SchemaDefault
	}
	return Table{pool: pool, table: pgx.Identifier{schema, "orders"}.Sanitize()}
}

// Get returns the order, or an error wrapping shop.ErrNotFound.
func (o Table) Get(ctx context.Context, id string) (shop.Order, error) {
	ord, err := scanPG(o.pool.QueryRow(ctx, `SELECT `+pgColumns+` FROM `+o.table+` WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return ord, fmt.Errorf("%w: %s", shop.ErrNotFound, id)
	}
	return ord, err
}

// List returns up to limit orders with IDs after the given one, in ID order.
func (o Table) List(ctx context.Context, after string, limit int) ([]shop.Order, error) {
	rows, err := o.pool.Query(ctx, `SELECT `+pgColumns+` FROM `+o.table+` WHERE id > $1 ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []shop.Order{}
	for rows.Next() {
		ord, err := scanPG(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, ord)
	}
	return out, rows.Err()
}

func (o pgOrders) Cancel(ctx context.Context, c shop.CancelOrder) (shop.Order, error) {
	return Table{o.b.pool, o.b.table}.Cancel(ctx, c)
}

// Cancel cancels the order c names (its id, or its username's latest open
// order), if its state allows; errors wrap shop.ErrNotFound or
// shop.ErrNotCancellable.
func (o Table) Cancel(ctx context.Context, c shop.CancelOrder) (shop.Order, error) {
	var ord shop.Order
	err := pgx.BeginFunc(ctx, o.pool, func(tx pgx.Tx) error {
		if c.Attempt != "" { // a retry of a cancel that committed: its order again
			done, err := scanPG(tx.QueryRow(ctx, `SELECT `+pgColumns+` FROM `+o.table+` WHERE cancelled_by = $1`, c.Attempt))
			if err == nil {
				ord = done
				return nil
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		var err error
		if c.ID != "" {
			ord, err = scanPG(tx.QueryRow(ctx, `SELECT `+pgColumns+` FROM `+o.table+` WHERE id = $1 FOR UPDATE`, c.ID))
		} else {
			ord, err = scanPG(tx.QueryRow(ctx, `SELECT `+pgColumns+` FROM `+o.table+` WHERE username = $1
				ORDER BY status IN ('accepted', 'created') DESC, id DESC LIMIT 1 FOR UPDATE`, c.Username))
		}
		if errors.Is(err, pgx.ErrNoRows) {
			return shop.ErrNotFound
		}
		if err != nil {
			return err
		}
		if ord.Status != shop.StatusAccepted && ord.Status != shop.StatusCreated {
			return fmt.Errorf("%w: it is %s", shop.ErrNotCancellable, ord.Status)
		}
		// The answer shows the stored time, as a GET does.
		ord.Status = shop.StatusCancelled
		if err := tx.QueryRow(ctx, `UPDATE `+o.table+` SET status = 'cancelled', updated_at = now(), cancelled_by = $2 WHERE id = $1
			RETURNING updated_at`, ord.ID, nullIfEmpty(c.Attempt)).Scan(&ord.UpdatedAt); err != nil {
			return err
		}
		ord.UpdatedAt = ord.UpdatedAt.UTC()
		return nil
	})
	return ord, err
}

// nullIfEmpty is s, or NULL when it is empty.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
