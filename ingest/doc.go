// Package ingest holds the front and back doors of the storage-first pattern.
//
// Front doors accept a request, persist it through a storagefirst.Sink, and only
// then acknowledge it:
//
//   - [FrontDoor] is the transport-free core: size limit, JSON content type,
//     decoding and validation into a Go type, the Idempotency-Key header, the
//     correlation ID, and the answers (202 with the envelope ID; 400/413/415/422/409
//     as RFC 9457 problem+json for bad input, with nothing persisted; 503 with
//     Retry-After when the sink fails, never a success). A JSON null body is bad
//     input, and text is stored as sent: bytes that are not UTF-8 are refused
//     (400) rather than replaced, a declared ISO-8859-1 or US-ASCII charset is
//     decoded faithfully, and any other charset is 415.
//   - [FrontDoor.ServeHTTP] serves it over net/http, and the subpackage
//     apigateway as Lambda handlers behind API Gateway REST and HTTP APIs (the
//     module's apigateway adapter serving ServeHTTP).
//
// Back doors turn delivered records into envelopes and run a storagefirst.Handler
// chain over them: [HandlerFor] decodes a typed [Event] for your function, and the
// subpackages eventbridge, sqs and kinesis hold the AWS sinks (PutEvents,
// SendMessageBatch, PutRecords, with partial failures handled) and the Lambda
// consumer adapters (EventBridge targets, SQS and Kinesis batches with partial
// batch responses).
//
// # Idempotency-Key
//
// A request with an Idempotency-Key is stored at most once per key (within
// IdempotencyTTL, 24 hours by default), and every answer to it says no more than
// is known:
//
//   - When the Sink is a [KeyedSink] (pgstore and sqlitestore queues, and any sink
//     that records the key with the envelope, like the pizza shop's), the key's
//     record (its scope, key, body fingerprint and the 202's body) commits in the
//     same transaction as the envelope. A retry with the same key and body finds the
//     first request exactly when it was stored and gets its answer (202 with the
//     first ID, Idempotent-Replayed: true); another body gets 422. A failed
//     transaction takes the record with it, so the retry simply stores: no key is
//     ever left "in progress", and concurrent requests with one key wait for each
//     other instead of getting 409. This holds across crashes of the process and
//     of the database.
//   - When the write's outcome is unknown (the connection died during the commit,
//     or the request's deadline ended it), the answer is 503 with Retry-After and
//     the problem type [ProblemOutcomeUnknown], "outcome unknown; retry with the
//     same Idempotency-Key", never "not stored": the retry finds out safely.
//     [ProblemNotPersisted] means nothing was stored.
//   - Other sinks (the AWS sinks: EventBridge, SQS, Kinesis) cannot commit a record
//     with what they accept. With FrontDoorConfig.Idempotency set, the front door
//     claims the key first (409 while a first request is in flight, up to
//     IdempotencyLeaseDefault), puts, then records the answer, releasing the key
//     after a failed put. This is best effort across crashes: if the process dies
//     between the put and the record, or a put's outcome is unknown, a retry can
//     store a second envelope with the same IdempotencyKey (under a new ID), and if
//     the store holding the claim is down when it should be released, retries get
//     409 until the claim's lease ends. Consumers behind storagefirst.Idempotent
//     still apply the effect once, keyed by the envelope's IdempotencyKey.
//
// # Where it sits
//
// ingest imports storagefirst and problem (the problem+json writer) and nothing else of the module, and no AWS package;
// what speaks to an AWS service or to Lambda lives in the subpackages named after
// it (apigateway, eventbridge, sqs, kinesis). A front door's Sink
// is pgstore, an AWS sink, or anything else that implements storagefirst.Sink.
//
// # Server timeouts
//
// A front door reads whole bodies (bounded by MaxBodyBytes) and waits for the sink;
// serve it with an http.Server whose timeouts bound slow clients, for example
// ReadHeaderTimeout 5 s, ReadTimeout 15 s, WriteTimeout 30 s and IdleTimeout 60 s,
// and keep WriteTimeout above the sink's own deadline so that a 503 can still be
// written. Behind API Gateway the integration timeout (29 s by default) bounds the
// whole request.
package ingest
