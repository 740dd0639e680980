package pgstore

import (
	"context"
	"fmt"

	"github.com/storagefirst/storagefirst-go/workflow"
)

// ListExecutionsLimit bounds one ListExecutions call.
const ListExecutionsLimit = 1000

// ListExecutions returns up to limit executions (at most ListExecutionsLimit;
// zero means 100), most recent first (IDs are time-ordered), starting after the
// execution with ID after (empty: the most recent). An operator console uses it.
func (w *WorkflowStore) ListExecutions(ctx context.Context, after string, limit int) ([]workflow.Execution, error) {
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, ListExecutionsLimit)
	out, err := w.queryExecutions(ctx, `SELECT doc::text FROM {{schema}}.executions
		WHERE ($1 = '' OR id < $1) ORDER BY id DESC LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list executions: %w", err)
	}
	return out, nil
}
