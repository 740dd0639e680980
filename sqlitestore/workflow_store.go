package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/storagefirst/storagefirst-go/workflow"
)

// WorkflowStore is the SQLite workflow.Store of a Store.
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
	_, err = w.s.w.ExecContext(ctx, `INSERT INTO executions (id, workflow, status, deadline, started_at, version, doc, stopped_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, e.Workflow, string(e.Status), micros(e.Deadline), micros(e.StartedAt), e.Version,
		string(doc), stoppedAt(e))
	if err != nil && strings.Contains(err.Error(), "UNIQUE") {
		return fmt.Errorf("sqlitestore: %w: %s", workflow.ErrExists, e.ID)
	}
	return err
}

// Update stores e if the stored version is e.Version-1.
func (w *WorkflowStore) Update(ctx context.Context, e workflow.Execution) error {
	doc, err := json.Marshal(e)
	if err != nil {
		return err
	}
	res, err := w.s.w.ExecContext(ctx, `UPDATE executions SET status = ?, deadline = ?, version = ?, doc = ?, stopped_at = ?
		WHERE id = ? AND version = ?`, string(e.Status), micros(e.Deadline), e.Version, string(doc), stoppedAt(e), e.ID, e.Version-1)
	if err != nil {
		return fmt.Errorf("sqlitestore: update execution: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	if _, err := w.Get(ctx, e.ID); err != nil {
		return err
	}
	return fmt.Errorf("%w: %s is not at version %d", workflow.ErrConflict, e.ID, e.Version-1)
}

// Get returns an execution.
func (w *WorkflowStore) Get(ctx context.Context, id string) (workflow.Execution, error) {
	var doc string
	err := w.s.r.QueryRowContext(ctx, `SELECT doc FROM executions WHERE id = ?`, id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return workflow.Execution{}, fmt.Errorf("%w: %s", workflow.ErrNotFound, id)
	}
	if err != nil {
		return workflow.Execution{}, err
	}
	var e workflow.Execution
	return e, json.Unmarshal([]byte(doc), &e)
}

// Interrupted returns running executions whose deadline is before the given time.
func (w *WorkflowStore) Interrupted(ctx context.Context, before time.Time, limit int) ([]workflow.Execution, error) {
	if limit <= 0 {
		limit = workflow.SweepLimit
	}
	return w.queryExecutions(ctx, `SELECT doc FROM executions WHERE status = 'RUNNING' AND deadline < ?
		ORDER BY started_at LIMIT ?`, micros(before), limit)
}

// queryExecutions runs query, which selects the doc column of executions, and
// decodes each row.
func (w *WorkflowStore) queryExecutions(ctx context.Context, query string, args ...any) ([]workflow.Execution, error) {
	rows, err := w.s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []workflow.Execution
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		var e workflow.Execution
		if err := json.Unmarshal([]byte(doc), &e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// stoppedAt is the stopped_at column of e: when it finished (microseconds), NULL
// while it runs.
func stoppedAt(e workflow.Execution) any {
	if e.Status == workflow.StatusRunning {
		return nil
	}
	t := e.StoppedAt
	if t.IsZero() {
		t = e.StartedAt
	}
	return micros(t)
}

// Prune deletes up to limit finished executions that stopped before the given
// time, oldest first.
func (w *WorkflowStore) Prune(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		limit = workflow.SweepLimit
	}
	res, err := w.s.w.ExecContext(ctx, `DELETE FROM executions WHERE id IN (
		SELECT id FROM executions WHERE status <> 'RUNNING' AND stopped_at < ? ORDER BY stopped_at LIMIT ?)`, micros(before), limit)
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: prune executions: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
