package pgstore

import (
	"strings"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

const storagefirstReplayedAt = storagefirst.MetadataReplayedAt

// queries holds the store's SQL with the schema filled in, built once per Store.
type queries struct {
	idemQueries
	insert, insertOne, claim, retry, release, deadLetter, extend, ack string
	listDead, listDeadType, sendDead, requeue, deleteDead, stats      string
	ackLeased, notify, keyedRecord                                    string
}

// idemQueries is the SQL of an IdempotencyStore, apart from the queues' so that
// one made by NewIdempotencyStore carries none of theirs.
type idemQueries struct {
	idemBegin, idemBeginMany, idemGet, idemComplete, idemCompleteAck string
	idemRelease, idemReap, idemDelete, idemExtend                    string
}

// fencingToken is the SQL of a new fencing token (of a queue lease or an
// idempotency claim): the microseconds since 2020 on the database's clock, shifted
// left 12 bits, and the low 12 bits of the tokens sequence. Tokens increase, and
// two taken in one microsecond differ by their sequence bits. The clock is there
// because bookkeeping commits asynchronously: a database crash can lose the
// sequence's last advances with the claims that made them, and the sequence then
// hands their values out again while the holders of the lost claims (still
// running) keep their tokens; a value re-issued after the restart comes with a
// later time, so the new holder's token is greater than the stale one and the
// stale holder's completions fail with ErrLeaseLost (unless the server's clock
// went back by more than the restart took). It lasts until about 2091.
const fencingToken = `((((extract(epoch FROM clock_timestamp()) * 1000000)::bigint - 1577836800000000) << 12)
	| (nextval('{{schema}}.tokens') & 4095))`

// idemTakeOver is the conflict clause of the idempotency claims (idemBegin,
// idemBeginMany): a key is taken over when it was released, its completed record
// expired or its in-progress lease ran out; otherwise the row is left alone.
const idemTakeOver = `ON CONFLICT (scope, key) DO UPDATE
			SET fingerprint = EXCLUDED.fingerprint, state = 'in_progress', token = EXCLUDED.token,
				lease_until = EXCLUDED.lease_until, outcome_error = '', outcome_result = NULL,
				expires_at = NULL, updated_at = now()
			WHERE ` + idemKeyFree

// idemKeyFree is the condition under which an upsert takes over the existing
// idempotency row i (aliased so): it was released, its completed record expired or
// its in-progress lease ran out. Begin (idemTakeOver) and PutKeyed (keyedRecord)
// share it.
const idemKeyFree = `(i.state = 'released'
				OR (i.state = 'completed' AND i.expires_at <= now())
				OR (i.state = 'in_progress' AND i.lease_until <= now()))`

// newQueries builds the SQL. Unless synchronous is set, the bookkeeping statements
// of consumers (claim, ack, retry, release, dead-letter, extend, idempotency begin,
// extend and release) commit with synchronous_commit off, through {{bk}}, a one-row FROM
// item that sets it for the statement's own transaction. Losing the last of them
// in a database crash only redelivers envelopes or frees idempotency keys early,
// which at-least-once delivery and idempotency absorb; what is acknowledged to
// clients (Put) and recorded as done (Complete) always commits durably.
func newQueries(schema string, synchronous bool) queries {
	r := queryReplacer(schema, synchronous)
	return queries{
		idemQueries: newIdemQueries(r),
		// Columns as arrays, one row per element: one statement per batch.
		// The NOTIFY rides in the same statement ($10: whether to send it; Postgres
		// folds identical notifications of one transaction into one). An ID already
		// in the queue, a dead letter's included, is a duplicate: a Put never revives
		// a dead letter (only Requeue does).
		insert: r.Replace(`WITH ins AS (
				INSERT INTO {{schema}}.envelopes
				(queue, id, type, source, accepted_at, idempotency_key, correlation_id, metadata, payload)
				SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[],
					$6::text[], $7::text[], $8::jsonb[], $9::text[])
				ON CONFLICT (queue, id) DO NOTHING
				RETURNING queue, id)
			SELECT queue, id, CASE WHEN $10::bool THEN pg_notify($11, queue) END FROM ins`),
		// The same for one row: a lone caller's batch skips the arrays.
		insertOne: r.Replace(`WITH ins AS (
				INSERT INTO {{schema}}.envelopes
				(queue, id, type, source, accepted_at, idempotency_key, correlation_id, metadata, payload)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
				ON CONFLICT (queue, id) DO NOTHING
				RETURNING queue, id)
			SELECT queue, id, CASE WHEN $10::bool THEN pg_notify($11, queue) END FROM ins`),
		// A leased row's available_at is its lease's end, so an expired lease is
		// simply due again: no separate rescuer is needed.
		//
		// due reads envelopes_due_id in its own order, (available_at, id), so it
		// reads the rows it locks and no more (plus those SKIP LOCKED passes over).
		// The update finds them by primary key through id = ANY(array): a plan that
		// stays an index lookup also as a generic plan, which knows nothing of $2
		// (a join with due there becomes a hash join over the whole table). The
		// last SELECT pairs each leased row with the time it was due.
		claim: r.Replace(`WITH due AS (
				SELECT id, available_at FROM {{schema}}.envelopes
				WHERE queue = $1 AND state < 2 AND available_at <= now()
				ORDER BY available_at, id
				LIMIT $2
				FOR UPDATE SKIP LOCKED),
			leased AS (
				UPDATE {{schema}}.envelopes e
				SET state = 1, attempt = e.attempt + 1, lease_token = {{token}},
					available_at = now() + $3::interval
				FROM {{bk}}
				WHERE e.queue = $1 AND e.id = ANY (ARRAY(SELECT id FROM due))
				RETURNING e.id, e.type, e.source, e.accepted_at, e.idempotency_key, e.correlation_id,
					e.metadata, e.payload, e.attempt, e.lease_token, e.available_at, e.failures)
			SELECT leased.*, due.available_at FROM leased JOIN due USING (id)`),
		ack: r.Replace(`DELETE FROM {{schema}}.envelopes e
			USING unnest($1::text[], $2::text[], $3::bigint[]) AS a(queue, id, token), {{bk}}
			WHERE e.queue = a.queue AND e.id = a.id AND e.lease_token = a.token AND e.state = 1
			RETURNING e.queue, e.id`),
		retry: r.Replace(`UPDATE {{schema}}.envelopes
			SET state = 0, lease_token = NULL, available_at = now() + $4::interval,
				failures = {{schema}}.append_failure(failures, $5, $6)
			FROM {{bk}}
			WHERE queue = $1 AND id = $2 AND lease_token = $3 AND state = 1`),
		release: r.Replace(`UPDATE {{schema}}.envelopes
			SET state = 0, lease_token = NULL, available_at = now(), attempt = greatest(attempt - 1, 0)
			FROM {{bk}}
			WHERE queue = $1 AND id = $2 AND lease_token = $3 AND state = 1`),
		deadLetter: r.Replace(`UPDATE {{schema}}.envelopes
			SET state = 2, lease_token = NULL, dead_at = now(),
				failures = {{schema}}.append_failure(failures, $4, $5)
			FROM {{bk}}
			WHERE queue = $1 AND id = $2 AND lease_token = $3 AND state = 1`),
		extend: r.Replace(`UPDATE {{schema}}.envelopes SET available_at = now() + $4::interval
			FROM {{bk}}
			WHERE queue = $1 AND id = $2 AND lease_token = $3 AND state = 1
			RETURNING available_at`),
		// Dead letters page through envelopes_dead (or envelopes_dead_type): two
		// statements, so that each plan is a plain range scan of its index.
		listDead: r.Replace(`SELECT id, type, source, accepted_at, idempotency_key, correlation_id,
				metadata, payload, attempt, failures, dead_at
			FROM {{schema}}.envelopes
			WHERE queue = $1 AND state = 2 AND id > $2
			ORDER BY id LIMIT $3`),
		listDeadType: r.Replace(`SELECT id, type, source, accepted_at, idempotency_key, correlation_id,
				metadata, payload, attempt, failures, dead_at
			FROM {{schema}}.envelopes
			WHERE queue = $1 AND state = 2 AND type = $2 AND id > $3
			ORDER BY id LIMIT $4`),
		// A dead letter sent here from elsewhere (dlq.Destination) replaces any live
		// row of the same ID: the envelope failed for good.
		sendDead: r.Replace(`INSERT INTO {{schema}}.envelopes
				(queue, id, type, source, accepted_at, idempotency_key, correlation_id, metadata, payload,
				 state, attempt, failures, dead_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 2, $10, $11, coalesce($12, now()))
			ON CONFLICT (queue, id) DO UPDATE
			SET state = 2, lease_token = NULL, attempt = EXCLUDED.attempt, failures = EXCLUDED.failures,
				dead_at = EXCLUDED.dead_at`),
		requeue: r.Replace(`UPDATE {{schema}}.envelopes
			SET state = 0, attempt = 0, available_at = now(), dead_at = NULL,
				metadata = coalesce(metadata, '{}'::jsonb) || jsonb_build_object('` + storagefirstReplayedAt + `',
					to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
			WHERE queue = $1 AND id = $2 AND state = 2`),
		deleteDead: r.Replace(`DELETE FROM {{schema}}.envelopes WHERE queue = $1 AND id = $2 AND state = 2`),
		// Each figure reads one index range, not the queue's rows: ready rows and
		// the oldest of them from the front of envelopes_due_id, scheduled and
		// in-flight rows from the rest of it, dead letters from envelopes_dead.
		stats: r.Replace(`SELECT
				(SELECT count(*) FROM {{schema}}.envelopes WHERE queue = $1 AND state < 2 AND available_at <= now()),
				f.scheduled, f.in_flight,
				(SELECT count(*) FROM {{schema}}.envelopes WHERE queue = $1 AND state = 2),
				coalesce(extract(epoch FROM now() - (SELECT min(available_at) FROM {{schema}}.envelopes
					WHERE queue = $1 AND state < 2 AND available_at <= now())), 0)
			FROM (SELECT count(*) FILTER (WHERE state = 0) AS scheduled, count(*) FILTER (WHERE state = 1) AS in_flight
				FROM {{schema}}.envelopes WHERE queue = $1 AND state < 2 AND available_at > now()) f`),

		// PutKeyed's completed record of its key (see Store.recordKey): taken when the
		// key is free, as a Begin takes it.
		keyedRecord: r.Replace(`INSERT INTO {{schema}}.idempotency AS i (scope, key, fingerprint, state, token, outcome_result, expires_at)
			VALUES ($1, $2, $3, 'completed', {{token}}, $4, now() + $5::interval)
			ON CONFLICT (scope, key) DO UPDATE
			SET fingerprint = EXCLUDED.fingerprint, state = 'completed', token = EXCLUDED.token, lease_until = NULL,
				outcome_error = '', outcome_result = EXCLUDED.outcome_result, expires_at = EXCLUDED.expires_at,
				updated_at = now()
			WHERE ` + idemKeyFree + `
			RETURNING token`),
		ackLeased: r.Replace(`SELECT {{schema}}.ack_leased($1, $2, $3)`),
		// The wake-up sent after a group commit of Put, in a transaction of its own
		// that need not wait for a flush (see notifier).
		notify: r.Replace(`SELECT pg_notify($1, q) FROM unnest($2::text[]) AS q, {{bk}}`),
	}
}

// queryReplacer fills in the templates' {{schema}}, {{token}} and {{bk}} (see
// newQueries).
func queryReplacer(schema string, synchronous bool) *strings.Replacer {
	bk := "(SELECT set_config('synchronous_commit', 'off', true)) AS bk"
	if synchronous {
		bk = "(SELECT NULL) AS bk"
	}
	return strings.NewReplacer("{{token}}", strings.ReplaceAll(fencingToken, "{{schema}}", schema), "{{schema}}", schema, "{{bk}}", bk)
}

// newIdemQueries builds the SQL of an IdempotencyStore with r (queryReplacer).
func newIdemQueries(r *strings.Replacer) idemQueries {
	return idemQueries{
		// The upsert claims the key when it is free; otherwise it changes nothing
		// and the caller reads the record.
		idemBegin: r.Replace(`INSERT INTO {{schema}}.idempotency AS i (scope, key, fingerprint, state, token, lease_until)
			SELECT $1, $2, $3, 'in_progress', {{token}}, now() + $4::interval FROM {{bk}}
			` + idemTakeOver + `
			RETURNING token, lease_until`),
		// The same for many keys at once (a batch of Begins), taken in the order
		// given (key order), so that concurrent batches lock rows in one order.
		// $4 is each lease in microseconds.
		idemBeginMany: r.Replace(`INSERT INTO {{schema}}.idempotency AS i (scope, key, fingerprint, state, token, lease_until)
			SELECT u.scope, u.key, u.fp, 'in_progress', {{token}}, now() + u.lease * interval '1 microsecond'
			FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) WITH ORDINALITY AS u(scope, key, fp, lease, ord), {{bk}}
			ORDER BY u.ord
			` + idemTakeOver + `
			RETURNING scope, key, token, lease_until`),
		// A completion that also acknowledges the envelope being handled, in the
		// caller's transaction: one statement, and either function failing (a lost
		// claim, SF001; a lost queue lease, SF002) fails the transaction.
		idemCompleteAck: r.Replace(`SELECT {{schema}}.idempotency_complete($1, $2, $3, $4, $5, $6::interval),
				{{schema}}.ack_leased($7, $8, $9)`),
		idemGet: r.Replace(`SELECT fingerprint, state, token, lease_until, outcome_error, outcome_result, expires_at,
				(state = 'completed' AND expires_at > now()) OR (state = 'in_progress' AND lease_until > now())
			FROM {{schema}}.idempotency WHERE scope = $1 AND key = $2`),
		idemComplete: r.Replace(`SELECT {{schema}}.idempotency_complete($1, $2, $3, $4, $5, $6::interval)`),
		idemRelease: r.Replace(`UPDATE {{schema}}.idempotency
			SET state = 'released', fingerprint = '', lease_until = NULL,
				expires_at = now() + $4::interval, updated_at = now()
			FROM {{bk}}
			WHERE scope = $1 AND key = $2 AND token = $3 AND state = 'in_progress'`),
		idemDelete: r.Replace(`DELETE FROM {{schema}}.idempotency WHERE scope = $1 AND key = $2`),
		// A claim whose lease ran out is still extended until another worker takes
		// the key over, as it may still complete it.
		idemExtend: r.Replace(`UPDATE {{schema}}.idempotency
			SET lease_until = now() + $4::interval, updated_at = now()
			FROM {{bk}}
			WHERE scope = $1 AND key = $2 AND token = $3 AND state = 'in_progress'
			RETURNING lease_until`),
		idemReap: r.Replace(`DELETE FROM {{schema}}.idempotency WHERE ctid = ANY (ARRAY(
				SELECT ctid FROM {{schema}}.idempotency
				WHERE (state <> 'in_progress' AND expires_at <= now())
					OR (state = 'in_progress' AND lease_until <= now() - $1::interval)
				LIMIT $2))`),
	}
}
