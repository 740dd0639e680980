package pgstore

import (
	"context"
	"errors"
	"time"
)

// PlanQueries returns the store's read-heavy SQL by name, for tests that explain
// their plans.
func PlanQueries(s *Store) map[string]string {
	return map[string]string{
		"claim":        s.q.claim,
		"listDead":     s.q.listDead,
		"listDeadType": s.q.listDeadType,
		"stats":        s.q.stats,
	}
}

// BeginBatch runs one batched claim of keys (in scope, lease a minute) and reports
// which were acquired, with their tokens.
func BeginBatch(ctx context.Context, s *Store, scope string, keys ...string) ([]bool, []int64, error) {
	items := make([]beginItem, len(keys))
	for i, k := range keys {
		items[i] = beginItem{scope: scope, key: k, lease: time.Minute}
	}
	outs, err := s.execBegin(ctx, items)
	if err != nil {
		return nil, nil, err
	}
	acq, toks := make([]bool, len(outs)), make([]int64, len(outs))
	var errs []error
	for i, o := range outs {
		acq[i], toks[i] = o.Value.acquired, o.Value.token
		errs = append(errs, o.Err)
	}
	return acq, toks, errors.Join(errs...)
}

// CommitError and StatementError classify a commit's and a statement's error.
var (
	CommitError    = commitError
	StatementError = statementError
)

// NotificationsSent returns how many wake-ups s sent after its group commits.
func NotificationsSent(s *Store) int64 { return s.wakes.sent.Load() }
