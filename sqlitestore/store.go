package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/storagefirst/storagefirst-go/internal/batch"
	"github.com/storagefirst/storagefirst-go/internal/wake"
)

// Defaults of Config.
const (
	// MaxBatchDefault bounds the envelopes or acknowledgements of one transaction.
	MaxBatchDefault = 500
	// BusyTimeoutDefault is the longest a call waits for a lock another
	// connection (another process) holds, whatever its context allows.
	BusyTimeoutDefault = 10 * time.Second
	// ReadConnsDefault bounds the reading connections.
	ReadConnsDefault = 4
)

// ErrInvalidQueueName: a queue name is empty, longer than 128 bytes, not UTF-8 or
// holds a NUL byte.
var ErrInvalidQueueName = errors.New("sqlitestore: invalid queue name")

// Config configures Open. The zero value means the defaults.
type Config struct {
	// MaxBatch bounds the envelopes or acknowledgements of one group-commit
	// transaction. Default MaxBatchDefault.
	MaxBatch int
	// ReadConns bounds the reading connections. Default ReadConnsDefault.
	ReadConns int
	// BusyTimeout bounds how long any call waits for a lock that another
	// connection to the file holds (a tool or process outside the Store; the
	// Store's own calls wait for its one writer in turn, bounded by their
	// context). The caller's context bounds every wait first; this is the
	// backstop for contexts without a deadline. Zero means BusyTimeoutDefault.
	BusyTimeout time.Duration
	// Logger logs background errors (RunReaper). Default slog.Default().
	Logger *slog.Logger
}

// Store is an open SQLite database holding queues, idempotency records and
// workflow executions. It is safe for concurrent use; Close it when done.
type Store struct {
	path   string
	cfg    Config
	w      *sql.DB // the one writing connection
	r      *sql.DB // readers
	ctx    context.Context
	cancel context.CancelFunc
	puts   *batch.Batcher[putItem, batch.Outcome[bool]]
	acks   *batch.Batcher[ackItem, bool]
	owner  *owner // the lock that makes this Store the file's one owner

	wakes wake.Hub

	// ackedInTx remembers, per open WriteTx transaction, the leases it
	// acknowledged (ackTx), so that a second acknowledgement of one of them in the
	// same transaction succeeds; an entry lives as long as its WriteTx call.
	ackedMu   sync.Mutex
	ackedInTx map[*sql.Tx]map[ackMark]struct{}
}

func dsn(path string, readOnly bool) string {
	q := url.Values{}
	// SQLite's busy handler ignores contexts: it waits one slice, and lockWait
	// waits in slices for as long as the caller's context allows.
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busySlice.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(ON)")
	if readOnly {
		q.Add("_pragma", "query_only(ON)")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

// withDefaults returns c with the documented defaults in place of its zero
// fields (MaxBatch, ReadConns, BusyTimeout, Logger); Open and OpenReadOnly share it.
func (c Config) withDefaults() Config {
	if c.MaxBatch <= 0 {
		c.MaxBatch = MaxBatchDefault
	}
	if c.ReadConns <= 0 {
		c.ReadConns = ReadConnsDefault
	}
	if c.BusyTimeout <= 0 {
		c.BusyTimeout = BusyTimeoutDefault
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Open opens (creating if needed) the database at path and applies the store's
// migrations.
//
// A SQLite store has one owner: Open takes an exclusive OS lock (flock on the
// sidecar file "<path>-lock") for the Store's lifetime, and fails at once with
// ErrStoreInUse, naming the file, while another Store (of this or another
// process) holds it. The lock ends with its process however that ends, so once
// Open holds it the previous owner is dead: Open then releases the leases and
// idempotency claims it left, and their envelopes are delivered again at once
// instead of after their leases run out. Each such delivery counts as one that
// went unanswered: a storagefirst.Consumer runs it, unless the envelope is past
// its RetryPolicy's attempts and ConsumerConfig.MaxUnansweredDeliveries of its
// deliveries went unanswered (then it is dead-lettered unrun, as poison). On
// platforms without flock the lock only excludes this process's other Stores, and
// what a predecessor left is released when its leases run out.
func Open(ctx context.Context, path string, cfg Config) (*Store, error) {
	cfg = cfg.withDefaults()
	own, err := lockOwner(path)
	if err != nil {
		return nil, err
	}
	s, err := open(ctx, path, cfg, own)
	if err != nil {
		_ = own.release()
		return nil, err
	}
	return s, nil
}

func open(ctx context.Context, path string, cfg Config, own *owner) (*Store, error) {
	wc, err := newConnector(dsn(path, false), cfg.BusyTimeout)
	if err != nil {
		return nil, err
	}
	w := sql.OpenDB(wc)
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlitestore: migrate %s: %w", path, err)
	}
	if own.exclusive {
		if err := releaseDeadOwners(ctx, w); err != nil {
			w.Close()
			return nil, err
		}
	}
	rc, err := newConnector(dsn(path, true), cfg.BusyTimeout)
	if err != nil {
		w.Close()
		return nil, err
	}
	r := sql.OpenDB(rc)
	r.SetMaxOpenConns(cfg.ReadConns)
	return newStore(path, cfg, w, r, own), nil
}

// newStore is a Store over its writing and reading pools, with its group
// commits started.
func newStore(path string, cfg Config, w, r *sql.DB, own *owner) *Store {
	s := &Store{path: path, cfg: cfg, w: w, r: r, owner: own}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	bc := batch.Config{MaxBatch: cfg.MaxBatch, Concurrency: 1}
	s.puts = batch.New(s.ctx, bc, s.execPut)
	s.acks = batch.New(s.ctx, bc, s.execAck)
	return s
}

// Close stops background work and closes the database: Puts and Acks not yet
// executing fail with storagefirst.ErrClosed, and group commits already running
// finish first.
func (s *Store) Close() error {
	s.cancel()
	s.puts.Wait()
	s.acks.Wait()
	// The lock goes last: a successor must not start while this Store still writes.
	return errors.Join(s.r.Close(), s.w.Close(), s.owner.release())
}

// releaseDeadOwners releases the leases and idempotency claims still held in the
// file: the owner lock proves that whoever took them is dead (they crashed). Their
// envelopes are due at once rather than when the leases run out (their attempt
// stays counted), and their keys can be claimed again.
func releaseDeadOwners(ctx context.Context, w *sql.DB) error {
	now := micros(time.Now())
	if _, err := w.ExecContext(ctx, `UPDATE envelopes SET state = 0, lease_token = NULL, available_at = ? WHERE state = 1`, now); err != nil {
		return fmt.Errorf("sqlitestore: release stale leases: %w", err)
	}
	if _, err := w.ExecContext(ctx, `UPDATE idempotency SET state = 'released', fingerprint = '', lease_until = NULL,
		expires_at = ? WHERE state = 'in_progress'`, now+(24*time.Hour).Microseconds()); err != nil {
		return fmt.Errorf("sqlitestore: release stale claims: %w", err)
	}
	return nil
}

// DB returns the writing connection pool (one connection), for the application's
// own tables. Inside WriteTx use the *sql.Tx, not DB, or the store's methods that
// write: the one connection is busy.
func (s *Store) DB() *sql.DB { return s.w }

// ReadDB returns the reading pool.
func (s *Store) ReadDB() *sql.DB { return s.r }

// WriteTx runs fn in a write transaction (BEGIN IMMEDIATE) and commits it unless
// fn fails. Use the Tx variants of the store's methods (PutTx, PutKeyedTx,
// CompleteTx) inside. When the commit itself fails in the driver, the error wraps
// storagefirst.ErrOutcomeUnknown: the transaction may have committed.
func (s *Store) WriteTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	s.ackedMu.Lock()
	if s.ackedInTx == nil {
		s.ackedInTx = make(map[*sql.Tx]map[ackMark]struct{})
	}
	s.ackedInTx[tx] = nil
	s.ackedMu.Unlock()
	defer func() {
		s.ackedMu.Lock()
		delete(s.ackedInTx, tx)
		s.ackedMu.Unlock()
	}()
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return commitError(tx.Commit())
}

// tokens allocates n fencing tokens in tx: a store-wide counter, never reused.
func tokens(ctx context.Context, tx *sql.Tx, n int) (int64, error) {
	var last int64
	err := tx.QueryRowContext(ctx, `UPDATE counters SET value = value + ? WHERE name = 'token' RETURNING value`, n).Scan(&last)
	return last - int64(n) + 1, err
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

var migrations = []string{
	`CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
	 INSERT INTO counters VALUES ('token', 0);
	 CREATE TABLE envelopes (
		queue TEXT NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL, source TEXT NOT NULL DEFAULT '',
		accepted_at INTEGER NOT NULL, idempotency_key TEXT NOT NULL DEFAULT '', correlation_id TEXT NOT NULL DEFAULT '',
		metadata TEXT, payload TEXT, state INTEGER NOT NULL DEFAULT 0, attempt INTEGER NOT NULL DEFAULT 0,
		available_at INTEGER NOT NULL, lease_token INTEGER, failures TEXT, dead_at INTEGER,
		PRIMARY KEY (queue, id));
	 CREATE INDEX envelopes_due ON envelopes (queue, available_at) WHERE state < 2;
	 CREATE TABLE idempotency (
		scope TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL DEFAULT '', state TEXT NOT NULL,
		token INTEGER NOT NULL, lease_until INTEGER, outcome_error TEXT NOT NULL DEFAULT '', outcome_result BLOB,
		expires_at INTEGER, PRIMARY KEY (scope, key));
	 CREATE TABLE executions (
		id TEXT PRIMARY KEY, workflow TEXT NOT NULL, status TEXT NOT NULL, deadline INTEGER NOT NULL,
		started_at INTEGER NOT NULL, version INTEGER NOT NULL, doc TEXT NOT NULL);
	 CREATE INDEX executions_running ON executions (deadline) WHERE status = 'RUNNING';`,
	// Indexes in the order the queries read (see queries.go): ties of available_at
	// ordered by id as a claim orders them, and dead letters by id and by type.
	`CREATE INDEX envelopes_due_id ON envelopes (queue, available_at, id) WHERE state < 2;
	 DROP INDEX envelopes_due;
	 CREATE INDEX envelopes_dead ON envelopes (queue, id) WHERE state = 2;
	 CREATE INDEX envelopes_dead_type ON envelopes (queue, type, id) WHERE state = 2;`,
	// Retention of executions (workflow.Store Prune); those finished before count as
	// stopped when they started.
	`ALTER TABLE executions ADD COLUMN stopped_at INTEGER;
	 UPDATE executions SET stopped_at = started_at WHERE status <> 'RUNNING';
	 CREATE INDEX executions_stopped ON executions (stopped_at) WHERE status <> 'RUNNING';`,
}

// migrate applies the migrations not yet applied, each in its own transaction.
func migrate(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return err
	}
	for i, m := range migrations {
		v := i + 1
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, v).Scan(&n); err != nil {
			_ = tx.Rollback()
			return err
		}
		if n == 0 {
			if _, err := tx.ExecContext(ctx, m); err != nil {
				_ = tx.Rollback()
				return fmt.Errorf("migration %d: %w", v, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (?, ?)`, v, time.Now().UnixMicro()); err != nil {
				_ = tx.Rollback()
				return err
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}
