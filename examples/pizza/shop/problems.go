package shop

import (
	"context"
	"net/http"

	"github.com/storagefirst/storagefirst-go/ingest"
	"github.com/storagefirst/storagefirst-go/problem"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// HeaderCorrelationID carries the correlation ID of every request and answer:
// a client's (up to storagefirst.MaxCorrelationIDLength bytes) is kept, a missing one
// generated. A problem's instance is it, and the log lines of the request
// carry it as correlation_id.
const HeaderCorrelationID = ingest.HeaderCorrelationIDDefault

// Problem types the shop answers besides the front doors' (ingest.Problem*)
// and the cancel workflow's (workflow.ProblemTypePrefix+...).
const (
	ProblemNotFound     = problem.TypePrefix + "not-found"
	ProblemInvalidQuery = problem.TypePrefix + "invalid-query"
	ProblemUnavailable  = problem.TypePrefix + "unavailable"
)

type correlationKey struct{}

// correlationID is the request's correlation ID (set by correlate).
func correlationID(r *http.Request) string {
	id, _ := r.Context().Value(correlationKey{}).(string)
	return id
}

// correlate gives every request a correlation ID, in its header (for the front
// doors and the workflow handler, which read it), its context and the answer's
// header.
func correlate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := storagefirst.CorrelationID(r.Header.Get(HeaderCorrelationID))
		r.Header.Set(HeaderCorrelationID, id)
		w.Header().Set(HeaderCorrelationID, id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), correlationKey{}, id)))
	})
}

// writeProblem answers a problem for r: its instance is r's correlation ID.
// detail speaks of the request; the cause, if any, goes to the log with the
// correlation ID and never to the client.
func (s *Shop) writeProblem(w http.ResponseWriter, r *http.Request, status int, typ, detail string, cause error) {
	id := correlationID(r)
	if cause != nil {
		s.cfg.Logger.ErrorContext(r.Context(), "pizza: "+detail, "correlation_id", id, "path", r.URL.Path, "error", cause)
	}
	problem.Write(w, problem.Details{Type: typ, Status: status, Detail: detail, Instance: id})
}
