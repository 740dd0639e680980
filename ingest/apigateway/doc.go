// Package apigateway serves an ingest.FrontDoor as a Lambda handler behind Amazon
// API Gateway: [V1] for a REST API proxy integration (payload format 1.0), [V2]
// for an HTTP API (payload format 2.0) or a Lambda function URL. Both bound the
// body before decoding base64 and answer exactly as the front door does over
// net/http.
//
// # Where it sits
//
// apigateway imports ingest and aws-lambda-go's events; the core package ingest
// imports neither this package nor any AWS package.
package apigateway
