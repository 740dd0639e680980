// Package kinesis connects storagefirst-go to Amazon Kinesis Data Streams: [Sink]
// persists envelopes with PutRecords, and [NewBatchHandler] runs a
// storagefirst.Handler chain over the records of a Lambda Kinesis event source with
// partial batch responses.
//
// The sink writes each envelope's JSON as the record's data, partitioned by the
// envelope's idempotency key (Envelope.Key) unless told otherwise, so the records
// of one key stay in order on one shard.
//
// A record that holds no envelope (data that is not JSON) never reaches the
// handler chain: give [BatchConfig].DeadLetters the Destination of the
// dlq.Middleware in that chain and such a record is dead-lettered (as a
// dlq.TypeUndecodable envelope with its bytes) and the shard moves on.
//
// # Where it sits
//
// kinesis is an AWS adapter of ingest's layer: it imports storagefirst, the
// Kinesis SDK, aws-lambda-go's events and internal/awsput (the engine the AWS
// sinks share). The core packages import no AWS package and never this one.
package kinesis
