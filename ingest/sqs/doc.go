// Package sqs connects storagefirst-go to Amazon SQS: [Sink] persists envelopes
// with SendMessageBatch, and [NewBatchHandler] runs a storagefirst.Handler chain
// over the records of a Lambda SQS event source, answering with a partial batch
// response (ReportBatchItemFailures) so that only failed records come back.
//
// The sink writes each envelope's JSON as the message body, with its ID, type and
// correlation ID as message attributes (SQS allows ten), and on FIFO queues the
// envelope ID as the deduplication ID. The batch handler reads those, raw messages
// (the message ID becomes the envelope ID) and SNS notifications delivered through
// SQS (unwrapped, with the SNS message ID as the envelope ID and the SQS message ID
// kept for the failure report).
//
// # Where it sits
//
// sqs is an AWS adapter of ingest's layer: it imports storagefirst, the
// SQS SDK, aws-lambda-go's events and internal/awsput (the engine the AWS
// sinks share). The core packages import no AWS package and never this one.
package sqs
