package sqlitestore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"time"

	"modernc.org/sqlite"
)

// busySlice is SQLite's busy_timeout on every connection: how long SQLite's own
// busy handler waits for a lock before it gives the call back to the store. The
// handler does not heed a context (nor sqlite3_interrupt), so the store waits
// for locks in slices this long and checks the caller's context between them: a
// call ends within busySlice of its deadline or cancellation.
const busySlice = 50 * time.Millisecond

// SQLite result codes (https://sqlite.org/rescode.html).
const (
	sqliteBusy         = 5
	sqliteBusySnapshot = 5 | 2<<8 // a stale read snapshot: waiting does not help
)

// isBusy reports whether err is SQLite's "database is locked": another
// connection (another process, as one Store owns a file) holds the lock.
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqliteBusy && se.Code() != sqliteBusySnapshot
}

// lockWait waits out SQLite locks held by other connections for as long as ctx
// allows and at most backstop.
type lockWait struct {
	backstop time.Duration
}

// do runs op until it is not refused with SQLITE_BUSY, ctx ends or the backstop
// has passed. A refused op did nothing (a statement that cannot take its lock
// does not start), so running it again is safe.
func (w lockWait) do(ctx context.Context, op func() error) error {
	err := op()
	if !isBusy(err) {
		return err
	}
	giveUp := time.Now().Add(w.backstop - busySlice) // the first slice is spent
	for {
		if !time.Now().Before(giveUp) {
			return fmt.Errorf("sqlitestore: a lock another connection holds was not free within %v: %w", w.backstop, err)
		}
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("sqlitestore: waiting for a lock another connection holds: %w (%w)", cerr, err)
		}
		start := time.Now()
		if err = op(); !isBusy(err) {
			return err
		}
		// SQLite refuses some locks at once, without its busy handler (to avoid a
		// deadlock): wait out the rest of the slice here, not in a busy loop.
		if rest := busySlice - time.Since(start); rest > busySlice/2 {
			t := time.NewTimer(rest)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
		}
	}
}

// singleStatement reports whether query holds one SQL statement, so that a
// refused autocommit run of it did nothing. A semicolon inside the statement (in
// a literal) makes it look like several: then the store does not run it again.
func singleStatement(query string) bool {
	q := strings.TrimRight(strings.TrimSpace(query), "; \t\r\n")
	return !strings.Contains(q, ";")
}

// connector opens the store's connections through the modernc.org/sqlite driver,
// wrapped so that every wait for a lock is bounded by the caller's context.
type connector struct {
	d    driver.Driver
	dsn  string
	wait lockWait
}

func newConnector(dsn string, backstop time.Duration) (*connector, error) {
	db, err := sql.Open("sqlite", "") // only to reach the registered driver; opens nothing
	if err != nil {
		return nil, err
	}
	d := db.Driver()
	_ = db.Close()
	return &connector{d: d, dsn: dsn, wait: lockWait{backstop: backstop}}, nil
}

func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	var conn driver.Conn
	err := c.wait.do(ctx, func() error {
		var err error
		conn, err = c.d.Open(c.dsn)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &lockConn{conn: conn, wait: c.wait}, nil
}

func (c *connector) Driver() driver.Driver { return c.d }

// lockConn is a modernc.org/sqlite connection whose transactions and statements
// wait for locks as lockWait does.
type lockConn struct {
	conn driver.Conn
	wait lockWait
}

var (
	_ driver.ConnBeginTx        = (*lockConn)(nil)
	_ driver.ConnPrepareContext = (*lockConn)(nil)
	_ driver.ExecerContext      = (*lockConn)(nil)
	_ driver.QueryerContext     = (*lockConn)(nil)
	_ driver.Pinger             = (*lockConn)(nil)
	_ driver.SessionResetter    = (*lockConn)(nil)
	_ driver.Validator          = (*lockConn)(nil)
)

func (c *lockConn) Prepare(query string) (driver.Stmt, error) { return c.conn.Prepare(query) }

func (c *lockConn) Close() error { return c.conn.Close() }

func (c *lockConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *lockConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	var tx driver.Tx
	err := c.wait.do(ctx, func() error {
		var err error
		tx, err = c.conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
		return err
	})
	return tx, err
}

func (c *lockConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c *lockConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	var res driver.Result
	err := c.waitLocks(ctx, query, func() error {
		var err error
		res, err = c.conn.(driver.ExecerContext).ExecContext(ctx, query, args)
		return err
	})
	return res, err
}

func (c *lockConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	var rows driver.Rows
	err := c.waitLocks(ctx, query, func() error {
		var err error
		rows, err = c.conn.(driver.QueryerContext).QueryContext(ctx, query, args)
		return err
	})
	return rows, err
}

// waitLocks runs op, which runs query, waiting for locks as query allows: one
// statement is run again in slices (lockWait), several at once wait in SQLite's
// busy handler (longBusy), as a refused run of them may have committed some.
func (c *lockConn) waitLocks(ctx context.Context, query string, op func() error) error {
	if !singleStatement(query) {
		return c.longBusy(ctx, op)
	}
	return c.wait.do(ctx, op)
}

// longBusy runs op, several statements that cannot be run again once one has
// committed, with SQLite's busy handler waiting until ctx's deadline (at most the
// backstop) instead of one slice. The handler heeds the deadline, not a
// cancellation.
func (c *lockConn) longBusy(ctx context.Context, op func() error) error {
	wait := c.wait.backstop
	if dl, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(dl))
	}
	if wait <= busySlice {
		return op()
	}
	setBusy := func(d time.Duration) error {
		_, err := c.conn.(driver.ExecerContext).ExecContext(context.Background(),
			fmt.Sprintf("PRAGMA busy_timeout = %d", d.Milliseconds()), nil)
		return err
	}
	if err := setBusy(wait); err != nil {
		return err
	}
	err := op()
	_ = setBusy(busySlice) // failing, it leaves this connection with longer waits
	return err
}

func (c *lockConn) Ping(ctx context.Context) error { return c.conn.(driver.Pinger).Ping(ctx) }

func (c *lockConn) ResetSession(ctx context.Context) error {
	return c.conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c *lockConn) IsValid() bool { return c.conn.(driver.Validator).IsValid() }
