package sqlitestore

// The queue's read-heavy SQL, each written so that its plan is a range of the
// index made for it (TestQueryPlansUseIndexes shows them).
const (
	// sqlClaimDue picks the ids a claim leases: the front of envelopes_due_id, in
	// its order, so a claim reads the rows it leases and sorts nothing.
	sqlClaimDue = `SELECT id FROM envelopes WHERE queue = ? AND state < 2 AND available_at <= ?
			ORDER BY available_at, id LIMIT ?`
	// sqlListDead pages through envelopes_dead; sqlListDeadType through
	// envelopes_dead_type.
	sqlListDead = `SELECT id, type, source, accepted_at, idempotency_key, correlation_id, metadata, payload,
		attempt, failures, dead_at FROM envelopes WHERE queue = ? AND state = 2 AND id > ?
		ORDER BY id LIMIT ?`
	sqlListDeadType = `SELECT id, type, source, accepted_at, idempotency_key, correlation_id, metadata, payload,
		attempt, failures, dead_at FROM envelopes WHERE queue = ? AND state = 2 AND type = ? AND id > ?
		ORDER BY id LIMIT ?`
	// sqlStats counts index ranges of the queue ($1, $2: the queue and now): the
	// ready rows and the oldest of them from the front of envelopes_due_id, the
	// scheduled and in-flight ones from the rest of it, the dead ones from
	// envelopes_dead.
	sqlStats = `SELECT
			(SELECT count(*) FROM envelopes WHERE queue = ?1 AND state < 2 AND available_at <= ?2),
			(SELECT count(*) FROM envelopes WHERE queue = ?1 AND state < 2 AND available_at > ?2 AND state = 0),
			(SELECT count(*) FROM envelopes WHERE queue = ?1 AND state < 2 AND available_at > ?2 AND state = 1),
			(SELECT count(*) FROM envelopes WHERE queue = ?1 AND state = 2),
			(SELECT min(available_at) FROM envelopes WHERE queue = ?1 AND state < 2 AND available_at <= ?2)`
)
