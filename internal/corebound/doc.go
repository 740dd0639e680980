// Package corebound holds no code: its test enforces that the core packages
// (storagefirst, ingest, workflow, dlq, pgstore, sqlitestore, the test kits sftest
// and workflowtest, and the machinery they share) depend on no AWS SDK service
// package and on no aws-lambda-go package. What speaks to an AWS service or to
// Lambda lives in a subpackage named after that service (ingest/sqs, workflow/sfn,
// dlq/sqs, ...).
package corebound
