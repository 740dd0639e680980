package pgstore

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
