package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/storagefirst/storagefirst-go/workflow"
)

// WorkflowStore is the Postgres workflow.Store of a Store: executions are stored,
// updated conditionally on their version, and found by the sweeper, in Postgres.
type WorkflowStore struct {
	s *Store
}

var _ workflow.Store = (*WorkflowStore)(nil)

// Workflows returns the store's workflow.Store.
func (s *Store) Workflows() *WorkflowStore { return &WorkflowStore{s: s} }

// Create stores a new execution.
func (w *WorkflowStore) Create(ctx context.Context, e workflow.Execution) error {
	doc, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, err = w.s.pool.Exec(ctx, w.s.sql(`INSERT INTO {{schema}}.executions
		(id, workflow, status, deadline, started_at, version, doc, stopped_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`),
		e.ID, e.Workflow, string(e.Status), e.Deadline, e.StartedAt, e.Version, string(doc), stoppedAt(e))
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return fmt.Errorf("pgstore: %w: %s", workflow.ErrExists, e.ID)
	}
	if err != nil {
		return fmt.Errorf("pgstore: create execution: %w", err)
	}
	return nil
}

// Update stores e if the stored version is e.Version-1.
func (w *WorkflowStore) Update(ctx context.Context, e workflow.Execution) error {
	doc, err := json.Marshal(e)
	if err != nil {
		return err
	}
	tag, err := w.s.pool.Exec(ctx, w.s.sql(`UPDATE {{schema}}.executions
		SET status = $2, deadline = $3, version = $4, doc = $5, stopped_at = $6 WHERE id = $1 AND version = $4 - 1`),
		e.ID, string(e.Status), e.Deadline, e.Version, string(doc), stoppedAt(e))
	if err != nil {
		return fmt.Errorf("pgstore: update execution: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	if _, err := w.Get(ctx, e.ID); err != nil {
		return err
	}
	return fmt.Errorf("%w: %s is not at version %d", workflow.ErrConflict, e.ID, e.Version-1)
}

// Get returns an execution.
func (w *WorkflowStore) Get(ctx context.Context, id string) (workflow.Execution, error) {
	var doc []byte
	err := w.s.pool.QueryRow(ctx, w.s.sql(`SELECT doc::text FROM {{schema}}.executions WHERE id = $1`), id).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return workflow.Execution{}, fmt.Errorf("%w: %s", workflow.ErrNotFound, id)
	}
	if err != nil {
		return workflow.Execution{}, fmt.Errorf("pgstore: get execution: %w", err)
	}
	var e workflow.Execution
	return e, json.Unmarshal(doc, &e)
}

// Interrupted returns running executions whose deadline is before the given time.
func (w *WorkflowStore) Interrupted(ctx context.Context, before time.Time, limit int) ([]workflow.Execution, error) {
	if limit <= 0 {
		limit = workflow.SweepLimit
	}
	out, err := w.queryExecutions(ctx, `SELECT doc::text FROM {{schema}}.executions
		WHERE status = 'RUNNING' AND deadline < $1 ORDER BY started_at LIMIT $2`, before, limit)
	if err != nil {
		return nil, fmt.Errorf("pgstore: interrupted executions: %w", err)
	}
	return out, nil
}

// queryExecutions runs query (a template with {{schema}}), which selects the doc
// column of executions, and decodes each row.
func (w *WorkflowStore) queryExecutions(ctx context.Context, query string, args ...any) ([]workflow.Execution, error) {
	rows, err := w.s.pool.Query(ctx, w.s.sql(query), args...)
	if err != nil {
		return nil, err
	}
	docs, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, err
	}
	out := make([]workflow.Execution, len(docs))
	for i, d := range docs {
		if err := json.Unmarshal(d, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// stoppedAt is the stopped_at column of e: when it finished, NULL while it runs.
func stoppedAt(e workflow.Execution) *time.Time {
	if e.Status == workflow.StatusRunning {
		return nil
	}
	t := e.StoppedAt
	if t.IsZero() {
		t = e.StartedAt
	}
	return &t
}

// Prune deletes up to limit finished executions that stopped before the given
// time, oldest first.
func (w *WorkflowStore) Prune(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		limit = workflow.SweepLimit
	}
	tag, err := w.s.pool.Exec(ctx, w.s.sql(`DELETE FROM {{schema}}.executions WHERE id IN (
		SELECT id FROM {{schema}}.executions WHERE status <> 'RUNNING' AND stopped_at < $1 ORDER BY stopped_at LIMIT $2)`),
		before, limit)
	if err != nil {
		return 0, fmt.Errorf("pgstore: prune executions: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
