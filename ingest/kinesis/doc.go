// Package kinesis connects storagefirst-go to Amazon Kinesis Data Streams: [Sink]
// persists envelopes with PutRecords, and [NewBatchHandler] runs a
// storagefirst.Handler chain over the records of a Lambda Kinesis event source with
// partial batch responses.
//
// The sink writes each envelope's JSON as the record's data, partitioned by the
// envelope's idempotency key (Envelope.Key) unless told otherwise, so the records
// of one key stay in order on one shard.
//
// A record that holds no envelope (data that is not JSON) becomes a
// dlq.TypeUndecodable stand-in (its bytes, bounded, and its partition key,
// sequence number and shard in the metadata): the dlq.Middleware in the handler
// chain dead-letters it at once (see dlq.HandleUndecodable), or
// [BatchConfig].DeadLetters does without running the chain, and the shard moves
// on. With neither, the record fails permanently and holds the shard.
//
// # Where it sits
//
// kinesis is an AWS adapter of ingest's layer: it imports storagefirst, dlq (for
// undecodable records), the Kinesis SDK, aws-lambda-go's events and
// internal/awsput (the engine the AWS sinks share). The core packages import no
// AWS package and never this one.
package kinesis
