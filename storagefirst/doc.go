// Package storagefirst is the shared vocabulary of storagefirst-go: the types every
// other package speaks, and a reader's way into the whole pattern.
//
// # The pattern
//
// Storage-first means an incoming request is written to durable storage before any
// business logic runs, and only then acknowledged. Processing happens afterwards,
// with retries, idempotency and a dead-letter queue (DLQ), so an acknowledged request
// is never lost and can always be replayed:
//
//	client ──▶ front door ──Put──▶ Sink (durable) ──ack──▶ client
//	                                   │
//	                       Queue.Claim / event source delivery
//	                                   ▼
//	           Handler chain: Idempotent ─▶ Retry ─▶ your Handler ─▶ effect
//	                                   │ exhausted or permanent
//	                                   ▼
//	                              dead letters ──replay──▶ Sink
//
// # The pieces
//
//   - [Envelope] is the unit that is persisted: an ID (UUIDv7, time-ordered), a type,
//     a source, the time it was accepted, an idempotency key, a correlation ID, the
//     delivery attempt, string metadata and a JSON payload.
//   - [Sink] is where envelopes are persisted. Put returns nil only once every envelope
//     is durable; a partial failure is a [*PutError] naming the envelopes that failed.
//     A write whose commit may or may not have happened fails with
//     [ErrOutcomeUnknown]. A [KeyedPut] stores an envelope and the record of its
//     idempotency key in one transaction (pgstore and sqlitestore).
//   - [Handler], [HandlerFunc] and [Middleware] process envelopes, net/http style;
//     [Chain] composes middleware.
//   - Error classes: [Permanent] errors are never retried and go straight to the
//     dead letters; [Retryable] errors (optionally [RetryAfter] a delay) are retried by
//     a [RetryPolicy]; [Classify] tells which class any error belongs to.
//   - [RetryPolicy] carries the fields and defaults of an AWS Step Functions Retrier
//     and maps onto github.com/cenkalti/backoff/v4. [Retry] is the in-process retry
//     middleware; the [Consumer] uses the same policy for durable, scheduled retries.
//   - [IdempotencyStore] and the [Idempotent] middleware make effects exactly-once
//     under at-least-once delivery: records are in progress (under a lease with a
//     fencing token, renewed while the handler runs), completed (the outcome is
//     stored and replayed) or released.
//   - [Queue] is what a durable store offers a local consumer: claim under a lease,
//     acknowledge, retry later, release, or dead-letter with the failure history.
//     [Consumer] is the runtime that drives a Queue with a bounded worker pool; it
//     dead-letters poison deliveries past the policy's attempts, reports its
//     [ConsumerHealth], and stops with [Consumer.Shutdown] leaving nothing leased.
//
// # Stores
//
// pgstore (Postgres, on pgx) and sqlitestore (SQLite, one process) are
// interchangeable: they have the same shape, method for method, and differ only in
// their transaction type Tx (pgx.Tx or *sql.Tx), in how they are opened and in a
// few driver-specific extras. A compile-time check (internal/storeshape) keeps
// them so. With S the *Store, Q its *Queue and I its *IdempotencyStore:
//
//	S.Queue(name string) (Q, error)
//	S.Idempotency() I
//	S.Workflows() W                      // a workflow.Store
//	S.WriteTx(ctx, fn func(tx Tx) error) error
//	S.Close() error                      // io.Closer
//
//	Q: Queue, Waker, DeadLetters, StatsReporter, dlq.Destination, ingest.KeyedSink, and
//	Q.Enqueue(ctx, envs...) (PutResult, error)          // Put that says what was new
//	Q.PutTx(ctx, tx Tx, envs...) (PutResult, error)     // the transactional outbox
//	Q.PutKeyedTx(ctx, tx Tx, p KeyedPut) (KeyedResult, error)
//	Q.Store() S
//
//	I: IdempotencyStore, and
//	I.CompleteTx(ctx, tx Tx, claim, outcome, ttl) error // outcome in the effect's transaction
//	I.CompleteFromContext(ctx, tx Tx) error
//	I.Reap(ctx, staleAfter, limit) (int64, error)      // bounded; limit 0 means ReapLimitDefault
//	I.RunReaper(ctx, interval, staleAfter)             // Reap until ctx ends
//
// Opening differs: pgstore.New(pool, cfg) takes a pool the caller owns and keeps
// it open on Close, and its schema is applied by Store.Migrate (or the CLI);
// sqlitestore.Open(ctx, path, cfg) owns its file and migrates it. The extras are
// pgstore's Pool, Schema, BatchStats, Migrate, MigrationStatus and
// IdempotencyStore.CompleteBatch (a pgx.Batch), and sqlitestore's DB and ReadDB.
//
// # Where it sits
//
// This package is the bottom layer: it imports no other package of the module
// (only github.com/cenkalti/backoff/v4), and every other package speaks its types.
// Above it, front doors live in ingest, dead-letter tooling in dlq and synchronous
// workflows in workflow, each importing only storagefirst; the stores pgstore and
// sqlitestore import storagefirst and workflow. What speaks to an AWS service sits
// in a subpackage named after it (ingest/sqs, dlq/sqs, workflow/sfn, ...), above the
// core package it extends. Package storagefirst/sftest holds in-memory fakes and
// the conformance suites every backend passes.
//
// # Concurrency and time
//
// Every blocking call takes a context.Context first and honours its deadline. Where
// time matters (retries, leases, expiry) it comes from a [Clock], so tests can move
// time by hand instead of sleeping.
package storagefirst
