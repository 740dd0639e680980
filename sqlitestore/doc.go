// Package sqlitestore is the embedded default store of storagefirst-go, on SQLite
// through modernc.org/sqlite (pure Go, no cgo). It implements the same contracts
// as pgstore and passes the same conformance suites: a storagefirst.Queue (and
// Sink, Waker, DeadLetters, StatsReporter, dlq destination, with PutKeyed and
// PutKeyedTx storing an envelope and its idempotency key's record in one
// transaction), a
// storagefirst.IdempotencyStore with CompleteTx, and a workflow.Store.
//
// It is what the pizza example runs on when no Postgres URL is given: one file,
// state that survives a restart, and durability to match: WAL mode with
// synchronous=FULL, so an acknowledged Put survives a crash of the process or the
// machine. SQLite has one writer at a time; the store writes through one
// connection, group-commits concurrent Puts and acknowledgements into shared
// transactions, and reads through a pool of its own.
//
// Use it for a single process. For several processes or machines, use pgstore.
// A store file has one owner: Open takes an exclusive OS lock for the Store's
// lifetime and a second Open fails with ErrStoreInUse. [OpenReadOnly] opens it
// beside its owner for inspection (no lock, no migrations, query_only
// connections reading the WAL): the CLI's dlq list, dlq show and queue stats.
//
// Every call is bounded by its context: waits for the one writer, and for locks
// another connection to the file holds (waited for in short slices of SQLite's
// busy timeout, up to Config.BusyTimeout at most), end with the context's error.
//
// # Where it sits
//
// sqlitestore imports storagefirst, workflow (the execution store it implements)
// and the machinery in internal/ (batch, wake, reap), like pgstore; only the CLI,
// the examples and tests import it.
//
// Its shape is pgstore's, method for method, with *sql.Tx for pgx.Tx; the shared
// shape is documented once, in storagefirst's package documentation ("Stores").
// Open migrates the file itself; [Store.DB] and [Store.ReadDB] are its extras.
package sqlitestore
