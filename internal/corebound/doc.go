// Package corebound holds no code: its test enforces that the core packages
// depend on no AWS package (no aws-sdk-go-v2 module, smithy-go or
// aws-lambda-go), for linux and darwin. The core is derived, not listed: every
// package of the module (go list) except those with a path segment naming an
// adapter or a non-library part (apigateway, awsfake, awsput, awslambda, sqs,
// sfn, eventbridge, kinesis, rdsiam, cmd, examples, integration, tools), so a
// new core package is checked without being named. What speaks to AWS lives in
// a subpackage named after the service (ingest/sqs, workflow/sfn, dlq/sqs,
// pgstore/rdsiam, ...).
package corebound
