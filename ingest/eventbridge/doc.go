// Package eventbridge connects storagefirst-go to Amazon EventBridge: [Sink]
// persists envelopes with PutEvents, and [NewTarget] runs a storagefirst.Handler
// chain as the Lambda target of a rule.
//
// The sink writes each envelope as an event whose Source is the envelope's source,
// DetailType its type, Time its accepted-at, and Detail the envelope's JSON (or,
// with RawDetail, just its payload). The target reads both that and raw events
// whose detail is a request body, as an API Gateway direct integration produces
// them, keeping the event's id as the envelope ID.
//
// PutEvents requests are bounded by entry count (MaxEntries) and by the total
// entry size counted as EventBridge documents it (SinkConfig.MaxRequestSize); a
// request EventBridge refuses whole is classified (validation errors permanent,
// throttling and 5xx retryable) and, when permanent, split until only the entry at
// fault fails, so one caller's bad event never fails another caller's.
//
// # Where it sits
//
// eventbridge is an AWS adapter of ingest's layer: it imports storagefirst, dlq
// (for undecodable records), the EventBridge SDK, aws-lambda-go's events,
// internal/awsput (the engine the AWS sinks share) and internal/awsenv (the
// envelope decoder dlq.Decode shares). The core packages import no AWS package
// and never this one.
package eventbridge
