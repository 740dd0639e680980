// Package sqliteshop is the pizza shop's backend on sqlitestore: one file.
package sqliteshop

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/storagefirst/storagefirst-go/examples/pizza/shop"
	"github.com/storagefirst/storagefirst-go/sqlitestore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/workflow"
)

// SQLite is the shop on sqlitestore: one file.
type SQLite struct {
	store  *sqlitestore.Store
	orders *sqlitestore.Queue
	cancel *sqlitestore.Queue
	path   string
}

// OpenSQLite opens (creating) the shop's database file.
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	st, err := sqlitestore.Open(ctx, path, sqlitestore.Config{})
	if err != nil {
		return nil, err
	}
	if _, err := st.DB().ExecContext(ctx, `CREATE TABLE IF NOT EXISTS orders (
		id TEXT PRIMARY KEY, username TEXT NOT NULL CHECK (length(username) <= 45), items TEXT NOT NULL DEFAULT '[]',
		status TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
		CREATE INDEX IF NOT EXISTS orders_username ON orders (username, id)`); err != nil {
		_ = st.Close()
		return nil, err
	}
	if err := addCancelledBy(ctx, st.DB()); err != nil {
		_ = st.Close()
		return nil, err
	}
	b := &SQLite{store: st, path: path}
	b.orders, _ = st.Queue("create-order")
	b.cancel, _ = st.Queue("cancel-order")
	return b, nil
}

func (b *SQLite) Name() string                               { return "sqlite " + b.path }
func (b *SQLite) Orders() shop.Orders                        { return sqliteOrders{b} }
func (b *SQLite) OrdersQueue() shop.Queue                    { return b.orders }
func (b *SQLite) CancelQueue() shop.Queue                    { return b.cancel }
func (b *SQLite) Idempotency() storagefirst.IdempotencyStore { return b.store.Idempotency() }
func (b *SQLite) Workflows() workflow.Store                  { return b.store.Workflows() }
func (b *SQLite) Ping(ctx context.Context) error             { return b.store.ReadDB().PingContext(ctx) }
func (b *SQLite) Close()                                     { _ = b.store.Close() }

type sqliteOrders struct{ b *SQLite }

func (o sqliteOrders) Accept(ctx context.Context, p storagefirst.KeyedPut, ord shop.Order) (storagefirst.KeyedResult, error) {
	items, _ := json.Marshal(shop.ItemsOrEmpty(ord.Items))
	now := time.Now().UnixMicro()
	var res storagefirst.KeyedResult
	err := o.b.store.WriteTx(ctx, func(tx *sql.Tx) error {
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
		_, err = tx.ExecContext(ctx, `INSERT INTO orders (id, username, items, status, created_at, updated_at)
			VALUES (?, ?, ?, 'accepted', ?, ?) ON CONFLICT (id) DO NOTHING`, ord.ID, ord.Username, string(items), now, now)
		return err
	})
	if err != nil {
		return storagefirst.KeyedResult{}, err
	}
	return res, nil
}

func (o sqliteOrders) Create(ctx context.Context, ord shop.Order) error {
	items, _ := json.Marshal(shop.ItemsOrEmpty(ord.Items))
	now := time.Now().UnixMicro()
	return o.b.store.WriteTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO orders (id, username, items, status, created_at, updated_at)
			VALUES (?, ?, ?, 'created', ?, ?)
			ON CONFLICT (id) DO UPDATE SET status = 'created', updated_at = excluded.updated_at
			WHERE orders.status IN ('accepted', 'failed')`, ord.ID, ord.Username, string(items), now, now); err != nil {
			return err
		}
		return o.b.store.Idempotency().CompleteFromContext(ctx, tx)
	})
}

func (o sqliteOrders) MarkFailed(ctx context.Context, id string) error {
	_, err := o.b.store.DB().ExecContext(ctx, `UPDATE orders SET status = 'failed', updated_at = ? WHERE id = ? AND status = 'accepted'`,
		time.Now().UnixMicro(), id)
	return err
}

const sqliteColumns = `id, username, items, status, created_at, updated_at`

func scanSQLite(row interface{ Scan(...any) error }) (shop.Order, error) {
	var ord shop.Order
	var items string
	var created, updated int64
	if err := row.Scan(&ord.ID, &ord.Username, &items, &ord.Status, &created, &updated); err != nil {
		return ord, err
	}
	ord.CreatedAt, ord.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	return ord, json.Unmarshal([]byte(items), &ord.Items)
}

func (o sqliteOrders) Get(ctx context.Context, id string) (shop.Order, error) {
	ord, err := scanSQLite(o.b.store.ReadDB().QueryRowContext(ctx, `SELECT `+sqliteColumns+` FROM orders WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return ord, fmt.Errorf("%w: %s", shop.ErrNotFound, id)
	}
	return ord, err
}

func (o sqliteOrders) List(ctx context.Context, after string, limit int) ([]shop.Order, error) {
	rows, err := o.b.store.ReadDB().QueryContext(ctx, `SELECT `+sqliteColumns+` FROM orders WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []shop.Order{}
	for rows.Next() {
		ord, err := scanSQLite(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, ord)
	}
	return out, rows.Err()
}

func (o sqliteOrders) Cancel(ctx context.Context, c shop.CancelOrder) (shop.Order, error) {
	var ord shop.Order
	err := o.b.store.WriteTx(ctx, func(tx *sql.Tx) error {
		if c.Attempt != "" { // a retry of a cancel that committed: its order again
			done, err := scanSQLite(tx.QueryRowContext(ctx, `SELECT `+sqliteColumns+` FROM orders WHERE cancelled_by = ?`, c.Attempt))
			if err == nil {
				ord = done
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		var err error
		if c.ID != "" {
			ord, err = scanSQLite(tx.QueryRowContext(ctx, `SELECT `+sqliteColumns+` FROM orders WHERE id = ?`, c.ID))
		} else {
			// The customer's latest order that can still be cancelled, else the latest.
			ord, err = scanSQLite(tx.QueryRowContext(ctx, `SELECT `+sqliteColumns+` FROM orders WHERE username = ?
				ORDER BY status IN ('accepted', 'created') DESC, id DESC LIMIT 1`, c.Username))
		}
		if errors.Is(err, sql.ErrNoRows) {
			return shop.ErrNotFound
		}
		if err != nil {
			return err
		}
		if ord.Status != shop.StatusAccepted && ord.Status != shop.StatusCreated {
			return fmt.Errorf("%w: it is %s", shop.ErrNotCancellable, ord.Status)
		}
		now := time.Now()
		if _, err := tx.ExecContext(ctx, `UPDATE orders SET status = 'cancelled', updated_at = ?, cancelled_by = ? WHERE id = ?`, now.UnixMicro(), nullIfEmpty(c.Attempt), ord.ID); err != nil {
			return err
		}
		ord.Status, ord.UpdatedAt = shop.StatusCancelled, now.UTC()
		return nil
	})
	return ord, err
}

// addCancelledBy adds the orders' cancelled_by column (the cancel request that
// cancelled each: CancelOrder.Attempt) to a database made before it.
func addCancelledBy(ctx context.Context, db *sql.DB) error {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('orders') WHERE name = 'cancelled_by'`).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		if _, err := db.ExecContext(ctx, `ALTER TABLE orders ADD COLUMN cancelled_by TEXT`); err != nil {
			return err
		}
	}
	_, err := db.ExecContext(ctx, `CREATE UNIQUE INDEX IF NOT EXISTS orders_cancelled_by ON orders (cancelled_by)`)
	return err
}

// nullIfEmpty is s, or NULL when it is empty.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
