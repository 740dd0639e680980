// Package sqs is the SQS side of package dlq: [Destination] stores dead letters
// in an SQS queue, [Source] reads (decoding every AWS failure record with
// dlq.Decode), deletes and purges an SQS dead-letter queue of any origin for
// dlq.List, dlq.Replay and the CLI, and [MoveBack] starts an SQS message move task
// back to the source queue.
//
// # Where it sits
//
// sqs imports dlq, storagefirst, the SQS SDK (smithy-go for its errors) and
// internal/sqstext (what SQS refuses in message text); the core package dlq
// imports no AWS package and never this one.
package sqs
