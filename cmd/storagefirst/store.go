package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storagefirst/storagefirst-go/pgstore"
	"github.com/storagefirst/storagefirst-go/sqlitestore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/workflow"
)

// dbFlags are the flags every database command shares.
type dbFlags struct {
	url    string
	schema string
}

func (d *dbFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.url, "database-url", os.Getenv("STORAGEFIRST_DATABASE_URL"),
		"the store: a postgres:// URL, or a SQLite file (a path or sqlite:PATH) (default $STORAGEFIRST_DATABASE_URL)")
	fs.StringVar(&d.schema, "schema", pgstore.SchemaDefault, "Postgres schema holding the store's tables (the pizza example's: pizza)")
}

// cliQueue is what the commands use of a queue of either store.
type cliQueue interface {
	storagefirst.Sink
	storagefirst.DeadLetters
	storagefirst.StatsReporter
	Name() string
}

// cliStore is an open store: Postgres (pgstore) or SQLite (sqlitestore).
type cliStore struct {
	name   string // "schema X" or "SQLite file X", for messages
	pg     *pgstore.Store
	sqlite *sqlitestore.Store
	close  func()
}

// Queue opens the named queue.
func (s *cliStore) Queue(name string) (cliQueue, error) {
	if s.pg != nil {
		return s.pg.Queue(name)
	}
	return s.sqlite.Queue(name)
}

// Workflows is the store's workflow.Store.
func (s *cliStore) Workflows() workflow.Store {
	if s.pg != nil {
		return s.pg.Workflows()
	}
	return s.sqlite.Workflows()
}

// Migrate applies the store's migrations and returns the versions applied
// (none for SQLite, which Open migrates).
func (s *cliStore) Migrate(ctx context.Context) ([]int, error) {
	if s.pg != nil {
		return s.pg.Migrate(ctx)
	}
	return nil, nil
}

// sqlitePath is the file a -database-url names, if it names a SQLite store: a
// sqlite: URL (sqlite:pizza.db, sqlite:///var/lib/pizza.db) or a plain path.
// Postgres URLs and key=value connection strings are not.
func sqlitePath(u string) (string, bool) {
	switch {
	case strings.HasPrefix(u, "sqlite://"):
		return strings.TrimPrefix(u, "sqlite://"), true
	case strings.HasPrefix(u, "sqlite:"):
		return strings.TrimPrefix(u, "sqlite:"), true
	case strings.Contains(u, "://") || strings.Contains(u, "="):
		return "", false
	}
	return u, true
}

// openMode says how a command opens a store.
type openMode int

const (
	// readWrite opens an existing store as its owner (a SQLite file's one
	// owner: the application must be stopped).
	readWrite openMode = iota
	// create is readWrite that may create a new SQLite file (migrate).
	create
	// readOnly inspects a store, a SQLite file beside its running owner
	// (sqlitestore.OpenReadOnly); writes fail.
	readOnly
)

// open opens the store the flags name in mode; outside create, a missing
// SQLite file is an error, not a new store.
func (d *dbFlags) open(ctx context.Context, mode openMode) (*cliStore, error) {
	if d.url == "" {
		return nil, fmt.Errorf("%w: -database-url is required", errUsage)
	}
	if path, ok := sqlitePath(d.url); ok {
		if path == "" {
			return nil, fmt.Errorf("%w: -database-url %q names no file", errUsage, d.url)
		}
		if _, err := os.Stat(path); mode != create && errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no SQLite store at %s (run the application first, or give its file)", path)
		}
		open := sqlitestore.Open
		if mode == readOnly {
			open = sqlitestore.OpenReadOnly
		}
		s, err := open(ctx, path, sqlitestore.Config{})
		if errors.Is(err, sqlitestore.ErrStoreInUse) {
			return nil, fmt.Errorf("%w\na SQLite store has one owner at a time: stop the application using it, then run this again", err)
		}
		if err != nil {
			return nil, err
		}
		return &cliStore{name: "SQLite file " + path, sqlite: s, close: func() { _ = s.Close() }}, nil
	}
	pool, err := pgxpool.New(ctx, d.url)
	if err != nil {
		return nil, err
	}
	s, err := pgstore.New(pool, pgstore.Config{Schema: d.schema})
	if err != nil {
		pool.Close()
		return nil, err
	}
	return &cliStore{name: "schema " + d.schema, pg: s, close: func() { s.Close(); pool.Close() }}, nil
}
