package sqlitestore

import (
	"context"

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
	return w.queryExecutions(ctx, `SELECT doc FROM executions WHERE (? = '' OR id < ?) ORDER BY id DESC LIMIT ?`,
		after, after, limit)
}
