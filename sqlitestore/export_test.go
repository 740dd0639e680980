package sqlitestore

// PlanQueries returns the queue's read-heavy SQL by name, for tests that explain
// their plans.
func PlanQueries() map[string]string {
	return map[string]string{
		"claim":        sqlClaimDue,
		"listDead":     sqlListDead,
		"listDeadType": sqlListDeadType,
		"stats":        sqlStats,
	}
}
