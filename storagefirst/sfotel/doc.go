// Package sfotel instruments storagefirst with OpenTelemetry: one trace follows a
// request across the storage boundary, and the queues, consumers, idempotency
// records and workflows report metrics.
//
// It uses only the OpenTelemetry API (go.opentelemetry.io/otel, its trace, metric
// and propagation packages), so the core packages stay free of it and the
// application chooses the SDK and exporters. With no providers configured, the
// global ones are used (no-ops until an SDK is installed).
//
// The pieces, each optional:
//   - HTTP wraps a front door: a server span per request, whose W3C traceparent is
//     set on the request for ingest.FrontDoorConfig.MetadataHeaders to copy into
//     the envelope's metadata (MetadataHeaders lists the headers to copy).
//   - Sink wraps a storagefirst.Sink: a producer span per Put that injects the
//     trace context into each envelope's Metadata, and the put latency and the
//     number of envelopes per Put. A sink with PutKeyed (an ingest.KeyedSink:
//     pgstore and sqlitestore queues) stays one, so a front door over the wrapper
//     keeps its Idempotency-Key deduplication.
//   - Middleware wraps a consumer's handler: a consumer span that continues the
//     envelope's trace, with the OpenTelemetry messaging attributes (message ID,
//     operation, destination, conversation ID = correlation ID) and the envelope's
//     type and attempt; the handler duration. A replayed dead letter keeps its
//     metadata, so its next delivery continues the same trace, with a "replayed"
//     event.
//   - OnProcessed (for storagefirst.ConsumerConfig.OnProcessed) counts deliveries
//     by outcome and records retries and dead-letterings as a "settle" span with an
//     event on the envelope's trace.
//   - ObserveQueues reports each queue's ready, scheduled, in-flight and dead
//     envelopes and its oldest ready age, read from storagefirst.StatsReporter when
//     the metrics are collected.
//   - ObserveBatches reports a store's group-commit counters (transactions and
//     envelopes; pgstore's Store.BatchStats), whose ratio is the batch size.
//   - Idempotency wraps an IdempotencyStore and counts Begin outcomes (new,
//     replayed, in progress, fingerprint mismatch).
//   - Workflows wraps a workflow.Store and counts executions by status.
//   - LogHandler wraps a slog.Handler: records carry trace_id, span_id and the
//     envelope's IDs from the context, at the top level also under WithGroup.
//
// Only the W3C trace context (traceparent, tracestate; Config.MetadataFields) is
// written into envelope metadata, each value bounded by MetadataValueLimit: the
// default propagator has no baggage, and a configured one's baggage is not stored.
//
// # Where it sits
//
// sfotel wraps the core from outside: it imports storagefirst and workflow and the
// OpenTelemetry API (go.opentelemetry.io/otel, its trace, metric and propagation
// packages), never its SDK or an exporter; the core imports none of it, so a user
// who does not trace compiles no OpenTelemetry. The application (the pizza
// example) chooses the SDK and exporters.
package sfotel
