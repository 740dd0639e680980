// Package shop is the pizza shop of the reference system, built only from
// storagefirst-go's public packages: the app a team copies.
//
//   - POST /orders persists the order storage-first (ingest.FrontDoor; the order
//     row "accepted" and its envelope commit together, a transactional outbox) and
//     answers 202; a storagefirst.Consumer creates it later, idempotently
//     (storagefirst.Idempotent with the record committed in the order's own
//     transaction), so a redelivery or a client retry never makes a second order.
//   - PUT /orders and POST /orders/{id}/cancel run the cancel workflow
//     synchronously (workflow.Engine): Retry on transient errors, Catch into a
//     dead-letter state; the answer is the truth: 200, 404, 409, or 502/504 with
//     the failure in the dead-letter queue.
//   - GET /orders (paged: limit, after; a full page answers next, the cursor, and
//     next_url, the link, also in the Link header) and GET /orders/{id} read the
//     orders; GET /healthz and GET /admin/stats report; POST /admin/dlq/replay
//     replays dead letters (dlq).
//   - /console/ is the operator console (package console). It and /admin/ need the
//     credentials given to operator.Configure, and refuse everything without them.
//   - With Config.Telemetry (sfotel, through operator.Configure), every request is
//     one trace across the store, and the puts, queues, consumers, idempotency records
//     and workflows are measured.
//
// This package links neither the console nor OpenTelemetry (package operator
// wires them), so the Lambda functions, which link it, stay small.
//
// Every answer carries X-Correlation-Id; every error, the router's own (404, 405
// with Allow) included, is one problem+json shape (package problem) whose
// instance is that ID, with details in the client's terms (internals are logged
// with the ID). Timestamps are RFC 3339 in UTC with microseconds (TimeFormat);
// ages are seconds.
//
// Two backends carry the same app, each in a package of its own so that a binary
// links only the one it uses: sqliteshop (sqlitestore, the default) and pgshop
// (pgstore).
package shop
