// Package sqs connects storagefirst-go to Amazon SQS: [Sink] persists envelopes
// with SendMessageBatch, and [NewBatchHandler] runs a storagefirst.Handler chain
// over the records of a Lambda SQS event source, answering with a partial batch
// response (ReportBatchItemFailures) so that only failed records come back.
//
// The sink writes each envelope's JSON as the message body, with its ID, type,
// source, idempotency key, correlation ID, accepted-at and metadata (one JSON
// attribute) as message attributes (at most 7 of the 10 SQS allows, counted in the
// message size), and on FIFO queues the envelope ID as the deduplication ID.
// Characters SQS refuses in a message (it accepts only #x9, #xA, #xD, #x20 to
// #xD7FF, #xE000 to #xFFFD and #x10000 to #x10FFFF; U+FFFE, say, is valid JSON
// text) are written as \uXXXX escapes in the JSON, which read back the same; an
// identity attribute holding one is left out (the body carries it). The
// batch handler reads those; raw messages, whose identity comes from those
// attributes when the producer set them and otherwise from the message (the
// message ID becomes the envelope ID, which a redrive changes); SNS notifications
// delivered through SQS (unwrapped, with the SNS message ID as the envelope ID and
// the SQS message ID kept for the failure report); and EventBridge events of an SQS
// rule target (read as the eventbridge target reads them). Messages that hold no
// envelope are dead-lettered as dlq.TypeUndecodable stand-ins (with their
// message attributes and FIFO group and deduplication IDs in the metadata) by
// BatchConfig.DeadLetters when it is set, else by the dlq.Middleware in the
// handler chain (see dlq.HandleUndecodable). dlq.Decode reads a
// redriven message exactly as the handler did.
//
// # Where it sits
//
// sqs is an AWS adapter of ingest's layer: it imports storagefirst, dlq (for
// undecodable records), the SQS SDK, aws-lambda-go's events, internal/awsput (the
// engine the AWS sinks share), internal/awsenv (the envelope decoder dlq.Decode
// shares) and internal/sqstext. The core packages import no AWS package and never
// this one.
package sqs
