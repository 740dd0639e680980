// Package dlq makes sure that nothing that fails vanishes: it sends what failed for
// good to a dead-letter destination with what is needed to understand and replay
// it, turns every failure record AWS writes back into the original envelope, and
// inspects and replays dead letters without ever applying an effect twice.
//
//   - [Destination] receives dead letters: pgstore's Queue (the Postgres
//     dead-letter state), the SQS destination of the subpackage sqs, or
//     sftest.MemoryQueue in tests.
//     [Middleware] sends a failure there once it is final (permanent, or retries
//     used up) and reports success to the event source only once that write
//     succeeded. [SendUndecodable] does the same for a record that holds no
//     envelope at all (the AWS batch handlers' DeadLetters option), as a
//     [TypeUndecodable] envelope carrying its bytes (at most
//     [UndecodableDataLimit], with length and SHA-256) and where it came from
//     (the Meta* metadata), so it cannot hold a batch. Without DeadLetters the
//     adapters pass that stand-in through the handler chain
//     ([HandleUndecodable]), and Middleware dead-letters it without running the
//     handlers after it. Such a letter is for inspection: it is not Replayable.
//   - [Decode] reads an SQS dead-letter message of any origin: our own
//     destination's, an EventBridge target DLQ message and a message moved by an
//     SQS redrive policy (known by their attributes, checked first; a redriven
//     message reads as ingest/sqs read it, so a replay keeps its ID and key), a
//     Lambda asynchronous on-failure record (direct, or through an SNS or
//     EventBridge destination), a Step Functions Catch output (with a ResultPath,
//     the state's input is the payload and the error the failure); anything else
//     is kept verbatim as [KindUnknown], never dropped. testdata/decode holds one
//     file per documented shape, with its source.
//   - [Source] reads dead letters back (pgstore or MemoryQueue through
//     [FromDeadLetters], or the subpackage sqs's Source); [List] and [Count] inspect them and
//     [Replay] re-puts them into a storagefirst.Sink with their idempotency key
//     (a store's dead letters under a new ID derived from theirs, see
//     [OriginalID], since a Put never revives a dead letter), deleting each only after its re-put is durable, so an
//     interrupted replay can be run again safely. sqs.MoveBack is the fast path
//     for an SQS dead-letter queue whose source is an SQS queue.
//
// # Where it sits
//
// dlq imports storagefirst (and the internal decoder it shares with ingest/sqs,
// so both read a message the same way) and no AWS package: decoding the failure
// records AWS writes is plain JSON. The subpackage sqs holds what speaks to SQS (the
// dead-letter Destination and Source, MoveBack). The cmd/storagefirst CLI drives it: dlq list,
// show, replay and purge, against Postgres or SQS.
package dlq
