// Package pgstore is the Postgres store of storagefirst-go, on github.com/jackc/pgx/v5.
//
// It implements the storagefirst contracts against a real database:
//
//   - [Queue] (one per name, from [Store.Queue]) is a storagefirst.Sink and
//     storagefirst.Queue: Put group-commits envelopes from concurrent callers into
//     one transaction and answers each caller when its batch has committed (a row
//     the database rejects is split out of the batch and fails only its own
//     envelope, permanently; a Put never revives a dead letter); PutTx
//     enqueues inside the caller's own transaction (the transactional outbox);
//     PutKeyed and PutKeyedTx store an envelope and the record of its idempotency
//     key in one transaction (what ingest front doors use for Idempotency-Key); Claim
//     uses FOR UPDATE SKIP LOCKED under leases with fencing tokens; retries, releases
//     and dead letters keep a bounded failure history on the row. A claim reads
//     its rows from an index in claim order (due time, then ID), so its cost is
//     what it leases, whatever the backlog; dead-letter listings page through
//     indexes of their own. A group commit wakes consumers after it commits (in
//     process at once, other processes by a NOTIFY of its own: Postgres would
//     serialise notifying commits). It also implements storagefirst.Waker (LISTEN/NOTIFY on
//     one connection that is pinged when quiet and reconnected with a backoff, the
//     consumer's polling as fallback), storagefirst.DeadLetters and
//     storagefirst.StatsReporter.
//   - [IdempotencyStore] is a storagefirst.IdempotencyStore whose CompleteTx records
//     an outcome in the same transaction as the handler's business writes, so
//     "effect applied" and "recorded as done" can never disagree. Under a
//     storagefirst.Consumer of a Queue of the same store, that completion (also
//     CompleteFromContext and CompleteBatch) acknowledges the delivery in the same
//     statement, fenced by its lease token: one commit carries effect, record and
//     acknowledgement ([Queue.AckTx] does it without Idempotent). Concurrent Begins
//     (a consumer's workers starting on a claimed batch) share one statement.
//     [NewIdempotencyStore] makes one without a Store, for a handler whose
//     deliveries come from elsewhere (a Lambda function behind EventBridge or
//     SQS): no queues, batching or goroutines, and none of their code linked.
//   - [Store.WriteTx] runs a transaction, every statement of it bounded by
//     Config.WriteTimeout, and reports a commit whose outcome is unknown (the
//     connection died during it) as storagefirst.ErrOutcomeUnknown.
//   - [Store.Migrate] (or [Migrate], without a Store, for a deploy step) applies
//     the embedded, versioned migrations under an advisory lock; cmd/storagefirst
//     runs them by hand.
//
// # Where it sits
//
// pgstore imports storagefirst, workflow (the execution store it implements) and
// the machinery in internal/ (batch for group commit, wake, reap), and no AWS
// service package; only the CLI, the examples and tests import it. Front doors
// (ingest) persist into a Queue; a storagefirst.Consumer drains it; dlq inspects and
// replays its dead letters.
//
// Its shape is sqlitestore's, method for method, with pgx.Tx for *sql.Tx; the
// shared shape is documented once, in storagefirst's package documentation
// ("Stores"). Extras of its own: [Store.Pool], [Store.Schema], [Store.BatchStats],
// [Store.Migrate], [Store.MigrationStatus], [IdempotencyStore.CompleteBatch],
// [NewIdempotencyStore] and [Migrate].
//
// # Managed Postgres
//
// Behind RDS Proxy or PgBouncer in transaction mode, no session state survives a
// transaction: set Config.Pooled (see [ConfigurePool]), which uses
// pgx.QueryExecModeExec (no prepared statements) and turns LISTEN/NOTIFY off, so
// consumers poll. [PasswordAuth] gives new connections a password from a
// function (a short-lived token); the subpackage rdsiam uses it for RDS IAM
// authentication, so pgstore itself imports no AWS package.
package pgstore
