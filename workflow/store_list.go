package workflow

import (
	"context"
	"sort"
)

// ExecutionLister is implemented by Stores that can list executions (MemoryStore,
// pgstore's and sqlitestore's), for an operator console: ListExecutions returns
// up to limit executions, most recent first, starting after the execution with
// ID after (empty: the most recent).
type ExecutionLister interface {
	ListExecutions(ctx context.Context, after string, limit int) ([]Execution, error)
}

var _ ExecutionLister = (*MemoryStore)(nil)

// ListExecutions returns up to limit executions, most recent first (IDs are
// time-ordered), starting after the execution with ID after (empty: the most
// recent). An operator console uses it.
func (m *MemoryStore) ListExecutions(ctx context.Context, after string, limit int) ([]Execution, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := make([]string, 0, len(m.execs))
	for id := range m.execs {
		if after == "" || id < after {
			ids = append(ids, id)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(ids)))
	if limit > 0 && len(ids) > limit {
		ids = ids[:limit]
	}
	out := make([]Execution, len(ids))
	for i, id := range ids {
		out[i] = clone(m.execs[id])
	}
	return out, nil
}
