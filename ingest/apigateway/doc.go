// Package apigateway serves an ingest.FrontDoor as a Lambda handler behind Amazon
// API Gateway: [V1] for a REST API proxy integration (payload format 1.0), [V2]
// for an HTTP API (payload format 2.0) or a Lambda function URL. Both are the
// module's one API Gateway adapter (package apigateway at the module root)
// serving the front door's ServeHTTP: a base64 body is decoded as it is read, so
// the front door's size limit bounds the work, and the answers are exactly those
// over net/http.
//
// # Where it sits
//
// apigateway imports ingest, the root apigateway adapter and aws-lambda-go's events; the core package ingest
// imports neither this package nor any AWS package.
package apigateway
