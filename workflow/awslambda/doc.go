// Package awslambda runs a workflow's Go task function as an AWS Lambda function:
// [Task] wraps it into the handler behind a Step Functions lambda:invoke Task,
// reporting its errors with their States Language names so that the state
// machine's Retry and Catch match them as the local engine does.
//
// # Where it sits
//
// awslambda imports workflow and aws-lambda-go; the core package workflow imports
// no AWS package.
package awslambda
