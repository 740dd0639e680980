// Package apigateway serves a workflow.HTTPHandler as a Lambda handler behind an
// Amazon API Gateway REST API proxy integration ([V1]): the same answers as over
// net/http, the real outcome of the execution.
//
// # Where it sits
//
// apigateway imports workflow and aws-lambda-go's events; the core package
// workflow imports no AWS package.
package apigateway
