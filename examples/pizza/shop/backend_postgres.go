package shop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

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
	st, err := pgstore.New(pool, pgstore.Config{Schema: schema})
	if err != nil {
		pool.Close()
		return nil, err
	}
	if _, err := st.Migrate(ctx); err != nil {
		st.Close()
		pool.Close()
		return nil, err
	}
	b := &Postgres{pool: pool, store: st, table: pgx.Identifier{schema, "orders"}.Sanitize()}
	if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+b.table+` (
		id text PRIMARY KEY, username varchar(45) NOT NULL, items jsonb NOT NULL DEFAULT '[]',
		status text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now());
		CREATE INDEX IF NOT EXISTS orders_username ON `+b.table+` (username, id)`); err != nil {
		b.Close()
		return nil, err
	}
	b.orders, _ = st.Queue("create-order")
	b.cancel, _ = st.Queue("cancel-order")
	return b, nil
}

func (b *Postgres) Name() string                               { return "postgres schema " + b.store.Schema() }
func (b *Postgres) Orders() Orders                             { return pgOrders{b} }
func (b *Postgres) OrdersQueue() Queue                         { return b.orders }
func (b *Postgres) CancelQueue() Queue                         { return b.cancel }
func (b *Postgres) Idempotency() storagefirst.IdempotencyStore { return b.store.Idempotency() }
func (b *Postgres) Workflows() workflow.Store                  { return b.store.Workflows() }
func (b *Postgres) Ping(ctx context.Context) error             { return b.pool.Ping(ctx) }
func (b *Postgres) Close()                                     { b.store.Close(); b.pool.Close() }

type pgOrders struct{ b *Postgres }

func (o pgOrders) Accept(ctx context.Context, env storagefirst.Envelope, ord Order) error {
	items, _ := json.Marshal(orEmpty(ord.Items))
	return pgx.BeginFunc(ctx, o.b.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO `+o.b.table+` (id, username, items, status) VALUES ($1, $2, $3, 'accepted')
			ON CONFLICT (id) DO NOTHING`, ord.ID, ord.Username, string(items)); err != nil {
			return err
		}
		_, err := o.b.orders.PutTx(ctx, tx, env)
		return err
	})
}

func (o pgOrders) Create(ctx context.Context, ord Order) error {
	items, _ := json.Marshal(orEmpty(ord.Items))
	return pgx.BeginFunc(ctx, o.b.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO `+o.b.table+` AS o (id, username, items, status) VALUES ($1, $2, $3, 'created')
			ON CONFLICT (id) DO UPDATE SET status = 'created', updated_at = now() WHERE o.status IN ('accepted', 'failed')`,
			ord.ID, ord.Username, string(items)); err != nil {
			return err
		}
		return o.b.store.Idempotency().CompleteFromContext(ctx, tx)
	})
}

func (o pgOrders) MarkFailed(ctx context.Context, id string) error {
	_, err := o.b.pool.Exec(ctx, `UPDATE `+o.b.table+` SET status = 'failed', updated_at = now() WHERE id = $1 AND status = 'accepted'`, id)
	return err
}

const pgColumns = `id, username, items, status, created_at, updated_at`

func scanPG(row pgx.Row) (Order, error) {
	var ord Order
	var items []byte
	if err := row.Scan(&ord.ID, &ord.Username, &items, &ord.Status, &ord.CreatedAt, &ord.UpdatedAt); err != nil {
		return ord, err
	}
	ord.CreatedAt, ord.UpdatedAt = ord.CreatedAt.UTC(), ord.UpdatedAt.UTC()
	return ord, json.Unmarshal(items, &ord.Items)
}

func (o pgOrders) Get(ctx context.Context, id string) (Order, error) {
	ord, err := scanPG(o.b.pool.QueryRow(ctx, `SELECT `+pgColumns+` FROM `+o.b.table+` WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return ord, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return ord, err
}

func (o pgOrders) List(ctx context.Context, after string, limit int) ([]Order, error) {
	rows, err := o.b.pool.Query(ctx, `SELECT `+pgColumns+` FROM `+o.b.table+` WHERE id > $1 ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Order{}
	for rows.Next() {
		ord, err := scanPG(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, ord)
	}
	return out, rows.Err()
}

func (o pgOrders) Cancel(ctx context.Context, c CancelOrder) (Order, error) {
	var ord Order
	err := pgx.BeginFunc(ctx, o.b.pool, func(tx pgx.Tx) error {
		var err error
		if c.ID != "" {
			ord, err = scanPG(tx.QueryRow(ctx, `SELECT `+pgColumns+` FROM `+o.b.table+` WHERE id = $1 FOR UPDATE`, c.ID))
		} else {
			ord, err = scanPG(tx.QueryRow(ctx, `SELECT `+pgColumns+` FROM `+o.b.table+` WHERE username = $1
				ORDER BY status IN ('accepted', 'created') DESC, id DESC LIMIT 1 FOR UPDATE`, c.Username))
		}
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if ord.Status != StatusAccepted && ord.Status != StatusCreated {
			return fmt.Errorf("%w: it is %s", ErrNotCancellable, ord.Status)
		}
		if _, err := tx.Exec(ctx, `UPDATE `+o.b.table+` SET status = 'cancelled', updated_at = now() WHERE id = $1`, ord.ID); err != nil {
			return err
		}
		ord.Status, ord.UpdatedAt = StatusCancelled, time.Now().UTC()
		return nil
	})
	return ord, err
}
