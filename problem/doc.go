// Package problem writes RFC 9457 problem details (application/problem+json),
// the one error format of every HTTP answer in this module: the front doors
// (ingest), the workflow front door (workflow) and the pizza example all answer
// errors through it, with the same members: type, title, status, detail and
// instance.
//
// # Where it sits
//
// problem imports only the standard library; ingest, workflow and applications
// import it. It knows nothing of storage: [Details] is the body, [Write] writes
// it, and [Routes] gives an http.ServeMux's own answers (unknown path 404, wrong
// method 405 with Allow) the same format.
package problem
