// Package apigateway serves any net/http handler as a Lambda function behind
// Amazon API Gateway: [V1] for a REST API proxy integration (payload format 1.0),
// [V2] for an HTTP API (payload format 2.0) or a Lambda function URL. It is the
// module's one API Gateway adapter: ingest/apigateway (front doors),
// workflow/apigateway (synchronous workflows) and the pizza example's Lambdas
// all serve through it.
//
// The event becomes an *http.Request: method, path, query (multi-value),
// headers (multi-value in V1; V2's comma-joined values as sent), cookies (V2's
// cookies field as one Cookie header), path parameters (as path values, for
// r.PathValue), the source IP as RemoteAddr, and the body, base64-decoded as it
// is read when the event says it is encoded (so a handler's size limit bounds the
// work; invalid base64 is a read error). The handler writes to a [ResponseWriter]
// that buffers the answer; it goes back with every header value (V1
// multiValueHeaders; V2 headers comma-joined and Set-Cookie as cookies), and a body
// that is not valid UTF-8 is sent base64-encoded. The buffer is bounded: a body
// past [MaxResponseBytes], or an answer whose JSON would pass Lambda's 6 MB
// ([LambdaResponseLimit]), is answered 502 problem+json and logged. An answer to
// HEAD has no body. On an HTTP API stage other than $default, the "/{stage}"
// prefix of the path is removed.
//
// # Where it sits
//
// apigateway imports aws-lambda-go's events and the module's problem and
// storagefirst packages (for its own answers: the 400 to an event that is no HTTP
// request and the 502 to a response too large, with the correlation ID of
// storagefirst.CorrelationID); no core package imports it.
package apigateway
