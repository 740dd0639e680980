// Package console is an operator console for storagefirst: an http.Handler that
// any service can mount to see its queues (ready, scheduled, in flight, dead,
// oldest ready age), browse dead letters with filters and paging, look at one's
// payload, metadata and failure history, replay dead letters (one, a selection, or
// all that match a filter, after a dry run) or purge them (after a confirmation),
// and look up workflow executions with their state history.
//
// It is server-rendered with html/template and embedded assets: every page reads
// without JavaScript; a small script only refreshes the queue figures in place.
//
// Security: nothing is served without authentication (Auth: a bearer token and/or
// basic-auth users, configured by the caller). Actions are POSTs, checked for
// cross-origin requests (net/http.CrossOriginProtection) and a CSRF token bound to
// the authenticated user; every action is logged with who did it. Every query is
// bounded (PageSize, ScanLimit, BulkLimit).
//
// Mount it under its Path:
//
//	c, err := console.New(console.Config{Path: "/console", Auth: console.Auth{BearerToken: token},
//		Queues: []console.Queue{{Name: "orders", Stats: q, Dead: q}}})
//	mux.Handle("/console/", c)
//
// # Where it sits
//
// console is beside the flow, on the operator's side: it imports storagefirst
// (queues, stats, dead letters), dlq (replay) and workflow (executions), and only
// the standard library besides; nothing in the library imports it. The pizza
// example mounts it under /console/ and the CLI serves it (storagefirst console).
package console
