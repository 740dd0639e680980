package ingest

import (
	"encoding/json"
	"net/http"
)

// Problem is an RFC 9457 problem details object, the body of every error answer.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Instance is the correlation ID of the request.
	Instance string `json:"instance,omitempty"`
}

// Problem types of the front doors.
const (
	ProblemTypePrefix           = "https://github.com/storagefirst/storagefirst-go/problems/"
	ProblemInvalidBody          = ProblemTypePrefix + "invalid-body"
	ProblemTooLarge             = ProblemTypePrefix + "too-large"
	ProblemUnsupportedMediaType = ProblemTypePrefix + "unsupported-media-type"
	ProblemKeyRequired          = ProblemTypePrefix + "idempotency-key-required"
	ProblemKeyReused            = ProblemTypePrefix + "idempotency-key-reused"
	ProblemKeyInProgress        = ProblemTypePrefix + "idempotency-key-in-progress"
	ProblemNotPersisted         = ProblemTypePrefix + "not-persisted"
	// ProblemOutcomeUnknown: the write may or may not have committed (a 503);
	// retry with the same Idempotency-Key to find out safely.
	ProblemOutcomeUnknown   = ProblemTypePrefix + "outcome-unknown"
	ProblemMethodNotAllowed = ProblemTypePrefix + "method-not-allowed"
)

// ContentTypeProblem is the media type of Problem bodies.
const ContentTypeProblem = "application/problem+json"

func (p Problem) body() []byte {
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	b, _ := json.Marshal(p) // strings and an int always encode
	return b
}
