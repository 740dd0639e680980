// Package apigateway serves a workflow.HTTPHandler as a Lambda handler behind an
// Amazon API Gateway REST API proxy integration ([V1]), or an HTTP API or
// Lambda function URL ([V2]): the same answers as over net/http, the real outcome
// of the execution, through the module's one API Gateway adapter (package
// apigateway at the module root).
//
// # Where it sits
//
// apigateway imports workflow, the root apigateway adapter and aws-lambda-go's events; the core package
// workflow imports no AWS package.
package apigateway
