package sqlitestore

import (
	"context"
	"encoding/json"

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
	rows, err := w.s.r.QueryContext(ctx, `SELECT doc FROM executions WHERE (? = '' OR id < ?) ORDER BY id DESC LIMIT ?`,
		after, after, limit)
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
