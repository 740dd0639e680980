package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migration is one embedded schema version.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		v, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("pgstore: migration %s has no version prefix", name)
		}
		b, err := migrationFS.ReadFile("migrations/" + name)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: strings.TrimSuffix(name, ".sql"), SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Migrate creates the schema if needed and applies every embedded migration not yet
// applied, each in its own transaction, under a transaction-level advisory lock
// keyed by the schema, so instances starting at once apply each version exactly
// once. It returns the versions it applied (none when the schema is up to date).
func (s *Store) Migrate(ctx context.Context) ([]int, error) {
	return migrate(ctx, s.pool, s.cfg.Schema)
}

// Migrate is Store.Migrate without a Store, for a deploy step (a migration job,
// a Lambda custom resource) that needs nothing else of the package: it migrates
// schema (SchemaDefault when empty; validated as Config.Schema) on pool.
func Migrate(ctx context.Context, pool *pgxpool.Pool, schema string) ([]int, error) {
	cfg := Config{Schema: schema}
	if err := errors.Join(checkPoolAndSchema("Migrate", pool, &cfg)...); err != nil {
		return nil, err
	}
	return migrate(ctx, pool, cfg.Schema)
}

func migrate(ctx context.Context, pool *pgxpool.Pool, schema string) ([]int, error) {
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	fill := queryReplacer(pgx.Identifier{schema}.Sanitize(), true) // the filler of the store's queries
	lockKey := "storagefirst.migrate." + schema
	var applied []int
	for _, m := range ms {
		done, err := applyOne(ctx, pool, fill, lockKey, m)
		if err != nil {
			return applied, fmt.Errorf("pgstore: migration %s: %w", m.Name, err)
		}
		if done {
			applied = append(applied, m.Version)
		}
	}
	return applied, nil
}

// applyOne applies m unless it is recorded as applied; fill fills in the
// templates' {{schema}} and {{token}} (queryReplacer).
func applyOne(ctx context.Context, pool *pgxpool.Pool, fill *strings.Replacer, lockKey string, m Migration) (bool, error) {
	applied := false
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", lockKey); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, fill.Replace(`CREATE SCHEMA IF NOT EXISTS {{schema}};
			CREATE TABLE IF NOT EXISTS {{schema}}.schema_migrations (
				version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`)); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, fill.Replace("SELECT EXISTS (SELECT 1 FROM {{schema}}.schema_migrations WHERE version = $1)"), m.Version).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return nil
		}
		if _, err := tx.Exec(ctx, fill.Replace(m.SQL)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, fill.Replace("INSERT INTO {{schema}}.schema_migrations (version, name) VALUES ($1, $2)"), m.Version, m.Name); err != nil {
			return err
		}
		applied = true
		return nil
	})
	return applied, err
}

// MigrationStatus returns the versions applied to the schema, in order.
func (s *Store) MigrationStatus(ctx context.Context) ([]int, error) {
	rows, err := s.pool.Query(ctx, s.sql("SELECT version FROM {{schema}}.schema_migrations ORDER BY version"))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int])
}
