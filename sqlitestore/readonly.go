package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
)

// ErrNotMigrated: OpenReadOnly found a file without the store's tables, or
// with migrations this version has not applied; Open (the owner) migrates it.
var ErrNotMigrated = errors.New("sqlitestore: the store file is not migrated to this version")

// OpenReadOnly opens the existing store at path for reading only, beside its
// owner: for tools that inspect a running application's store (the CLI's
// `dlq list`, `dlq show`, `queue stats`). It takes no owner lock (so it never
// fails with ErrStoreInUse and never keeps the owner from starting), applies
// no migrations and releases nothing; every connection is query_only, so a
// write through the Store (Put, Ack, Replay, PurgeDead, ...) fails and changes
// nothing. WAL lets it read while the owner writes: each statement sees the
// last committed state. It fails if path does not exist (it never creates a
// store) and with ErrNotMigrated if the file's schema is not this version's.
func OpenReadOnly(ctx context.Context, path string, cfg Config) (*Store, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s read-only: %w", path, err)
	}
	cfg = cfg.withDefaults()
	rc, err := newConnector(dsn(path, true), cfg.BusyTimeout)
	if err != nil {
		return nil, err
	}
	r := sql.OpenDB(rc)
	r.SetMaxOpenConns(cfg.ReadConns)
	if err := checkMigrated(ctx, r); err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("%w: %s: %w", ErrNotMigrated, path, err)
	}
	// The "writer" is a read-only pool of one: the Store's write paths run,
	// and fail, there.
	wc, err := newConnector(dsn(path, true), cfg.BusyTimeout)
	if err != nil {
		_ = r.Close()
		return nil, err
	}
	w := sql.OpenDB(wc)
	w.SetMaxOpenConns(1)
	return newStore(path, cfg, w, r, &owner{}), nil
}

// checkMigrated fails unless every migration of this version is applied.
func checkMigrated(ctx context.Context, db *sql.DB) error {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version <= ?`, len(migrations)).Scan(&n); err != nil {
		return err
	}
	if n != len(migrations) {
		return fmt.Errorf("%d of %d migrations applied", n, len(migrations))
	}
	return nil
}
