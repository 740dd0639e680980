// Package ingest holds the front and back doors of the storage-first pattern.
//
// Front doors accept a request, persist it through a storagefirst.Sink, and only
// then acknowledge it:
//
//   - [FrontDoor] is the transport-free core: size limit, JSON content type,
//     decoding and validation into a Go type, the Idempotency-Key header, the
//     correlation ID, and the answers (202 with the envelope ID; 400/413/415/422/409
//     as RFC 9457 problem+json for bad input, with nothing persisted; 503 with
//     Retry-After when the sink fails, never a success).
//   - [FrontDoor.ServeHTTP] serves it over net/http, and the subpackage
//     apigateway as Lambda handlers behind API Gateway REST and HTTP APIs (through
//     [FrontDoor.AcceptEncoded]).
//
// Back doors turn delivered records into envelopes and run a storagefirst.Handler
// chain over them: [HandlerFor] decodes a typed [Event] for your function, and the
// subpackages eventbridge, sqs and kinesis hold the AWS sinks (PutEvents,
// SendMessageBatch, PutRecords, with partial failures handled) and the Lambda
// consumer adapters (EventBridge targets, SQS and Kinesis batches with partial
// batch responses).
//
// # Where it sits
//
// ingest imports storagefirst and nothing else of the module, and no AWS package;
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
