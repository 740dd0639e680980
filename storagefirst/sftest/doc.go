// Package sftest holds test doubles for storagefirst: in-memory implementations of
// Sink, Queue and IdempotencyStore with knobs to inject failures, a fake Clock, and
// the conformance suites (RunQueueSuite, RunIdempotencySuite) that every backend of
// the module passes, the in-memory ones here as much as pgstore.
//
// Import it from tests: your own unit tests can run a Consumer or the Idempotent
// middleware against MemoryQueue and MemoryIdempotencyStore, and a backend of your
// own proves itself by running the suites.
//
// Everything here is safe for concurrent use.
//
// # Where it sits
//
// sftest is the test kit beside storagefirst: it imports storagefirst,
// internal/wake and testify, never a store; only tests import it (the stores'
// conformance tests among them). Fakes of AWS services live in awsfake, beside
// the adapters they serve.
package sftest
