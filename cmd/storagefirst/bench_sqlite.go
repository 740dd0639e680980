package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // the driver sqlitestore uses, for the plain baseline

	"github.com/storagefirst/storagefirst-go/sqlitestore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// sqliteSettings are the file settings of sqlitestore's writer, which the plain
// baseline uses too.
const sqliteSettings = "journal_mode=WAL synchronous=FULL busy_timeout; one writing connection (the library's and the baseline's)"

// benchSQLite runs the embedded default beside plain SQLite on the same file
// settings: Put from 1, 16 and 64 callers beside one INSERT per call, and a
// Consumer draining envelopes (no-op, and behind Idempotent with the effect,
// record and acknowledgement in one WriteTx) beside a hand-written consumer taking
// one row per transaction and writing the effect in it.
func benchSQLite(ctx context.Context, c *benchConfig) error {
	dir := c.sqliteDir
	if dir == "" {
		d, err := os.MkdirTemp("", "storagefirst-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	for rep := 1; rep <= c.reps; rep++ {
		for _, conc := range []int{1, 16, 64} {
			for i := range 2 {
				if (i+rep)%2 == 0 {
					if err := sqlitePutOnce(ctx, c, dir, rep, conc); err != nil {
						return err
					}
				} else if err := sqliteNaivePutOnce(ctx, c, dir, rep, conc); err != nil {
					return err
				}
			}
		}
		vs := []string{"naive_tx", "noop", "idempotent_tx"}
		for i := range vs {
			if err := sqliteConsumeOnce(ctx, c, dir, rep, vs[(i+rep)%len(vs)]); err != nil {
				return err
			}
		}
	}
	return nil
}

func sqliteFile(dir string) string { return filepath.Join(dir, "bench-"+rnd(4)+".db") }

// openPlain opens a plain SQLite file with sqlitestore's writer settings.
func openPlain(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

func removeSQLite(path string) {
	for _, suffix := range []string{"", "-wal", "-shm", "-lock"} {
		_ = os.Remove(path + suffix)
	}
}

func sqlitePutOnce(ctx context.Context, c *benchConfig, dir string, rep, conc int) error {
	path := sqliteFile(dir)
	defer removeSQLite(path)
	s, err := sqlitestore.Open(ctx, path, sqlitestore.Config{})
	if err != nil {
		return err
	}
	defer s.Close()
	q, err := s.Queue("bench")
	if err != nil {
		return err
	}
	n, lat, secs, err := drive(ctx, conc, c.duration, func(ctx context.Context, e storagefirst.Envelope) error { return q.Put(ctx, e) })
	if err != nil {
		return err
	}
	c.print(result{Case: "put", Backend: "sqlite", Variant: "group_commit", Baseline: "naive_insert", Concurrency: conc, Rep: rep,
		Envelopes: n, Seconds: secs, PerSecond: float64(n) / secs, P50Millis: percentile(lat, 0.5), P99Millis: percentile(lat, 0.99),
		Settings: sqliteSettings})
	return nil
}

func sqliteNaivePutOnce(ctx context.Context, c *benchConfig, dir string, rep, conc int) error {
	path := sqliteFile(dir)
	defer removeSQLite(path)
	db, err := openPlain(path)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE naive (id TEXT PRIMARY KEY, type TEXT NOT NULL, accepted_at INTEGER NOT NULL, payload TEXT)`); err != nil {
		return err
	}
	n, lat, secs, err := drive(ctx, conc, c.duration, func(ctx context.Context, e storagefirst.Envelope) error {
		_, err := db.ExecContext(ctx, `INSERT INTO naive VALUES (?, ?, ?, ?)`, e.ID, e.Type, e.AcceptedAt.UnixMicro(), string(e.Payload))
		return err
	})
	if err != nil {
		return err
	}
	c.print(result{Case: "put", Backend: "sqlite", Variant: "naive_insert", Concurrency: conc, Rep: rep,
		Envelopes: n, Seconds: secs, PerSecond: float64(n) / secs, P50Millis: percentile(lat, 0.5), P99Millis: percentile(lat, 0.99),
		Settings: sqliteSettings})
	return nil
}

func sqliteConsumeOnce(ctx context.Context, c *benchConfig, dir string, rep int, variant string) error {
	path := sqliteFile(dir)
	defer removeSQLite(path)
	target := int64(c.consumeN)
	r := result{Case: "consume", Backend: "sqlite", Variant: variant, Concurrency: benchWorkers, Rep: rep, Envelopes: target, Settings: sqliteSettings}
	if variant != "naive_tx" {
		r.Baseline = "naive_tx"
	}
	var secs float64
	var err error
	if variant == "naive_tx" {
		secs, err = sqliteNaiveConsume(ctx, path, target)
	} else {
		secs, err = sqliteStoreConsume(ctx, path, target, variant)
	}
	if err != nil {
		return fmt.Errorf("sqlite consume %s: %w", variant, err)
	}
	r.Seconds, r.PerSecond = secs, float64(target)/secs
	c.print(r)
	return nil
}

func sqliteStoreConsume(ctx context.Context, path string, target int64, variant string) (float64, error) {
	s, err := sqlitestore.Open(ctx, path, sqlitestore.Config{})
	if err != nil {
		return 0, err
	}
	defer s.Close()
	if _, err := s.DB().ExecContext(ctx, `CREATE TABLE orders (key TEXT PRIMARY KEY, envelope_id TEXT NOT NULL)`); err != nil {
		return 0, err
	}
	q, err := s.Queue("bench")
	if err != nil {
		return 0, err
	}
	if err := fill(ctx, q, int(target)); err != nil {
		return 0, err
	}
	var handler storagefirst.Handler = storagefirst.HandlerFunc(func(context.Context, storagefirst.Envelope) error { return nil })
	if variant == "idempotent_tx" {
		idem := s.Idempotency()
		idempotent, err := storagefirst.Idempotent(storagefirst.IdempotentConfig{Store: idem, Scope: "bench"})
		if err != nil {
			return 0, err
		}
		handler = storagefirst.Chain(storagefirst.HandlerFunc(func(ctx context.Context, e storagefirst.Envelope) error {
			return s.WriteTx(ctx, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO orders VALUES (?, ?)`, e.Key(), e.ID); err != nil {
					return err
				}
				return idem.CompleteFromContext(ctx, tx)
			})
		}), idempotent)
	}
	var done atomic.Int64
	finished := make(chan struct{})
	cons, err := storagefirst.NewConsumer(storagefirst.ConsumerConfig{
		Queue: q, Handler: handler, Workers: benchWorkers, Logger: slog.New(slog.DiscardHandler),
		OnProcessed: func(_ context.Context, p storagefirst.Processed) {
			if p.Action == storagefirst.ActionAcked && p.AnswerErr == nil && done.Add(1) == target {
				close(finished)
			}
		},
	})
	if err != nil {
		return 0, err
	}
	runCtx, stop := context.WithCancel(ctx)
	runDone := make(chan struct{})
	start := time.Now()
	go func() { defer close(runDone); _ = cons.Run(runCtx) }()
	defer func() { stop(); <-runDone }()
	select {
	case <-finished:
	case <-time.After(5 * time.Minute):
		return 0, fmt.Errorf("only %d of %d acked", done.Load(), target)
	}
	return time.Since(start).Seconds(), nil
}

func sqliteNaiveConsume(ctx context.Context, path string, target int64) (float64, error) {
	db, err := openPlain(path)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE naive (id TEXT PRIMARY KEY, payload TEXT);
		CREATE TABLE orders (key TEXT PRIMARY KEY, envelope_id TEXT NOT NULL)`); err != nil {
		return 0, err
	}
	for i := int64(0); i < target; i += 1000 {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return 0, err
		}
		for range min(1000, target-i) {
			e := env()
			if _, err := tx.ExecContext(ctx, `INSERT INTO naive VALUES (?, ?)`, e.ID, string(e.Payload)); err != nil {
				_ = tx.Rollback()
				return 0, err
			}
		}
		if err := tx.Commit(); err != nil {
			return 0, err
		}
	}
	return drainNaive(target, sql.ErrNoRows, func() error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		var id string
		if err := tx.QueryRowContext(ctx, `DELETE FROM naive WHERE id = (SELECT id FROM naive ORDER BY id LIMIT 1) RETURNING id`).Scan(&id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO orders VALUES (?, ?)`, id, id); err != nil {
			return err
		}
		return tx.Commit()
	})
}
