package ingest

import "github.com/storagefirst/storagefirst-go/problem"

// Problem is an RFC 9457 problem details object, the body of every error answer;
// its Instance is the correlation ID of the request. It is problem.Details, the
// module's one problem+json format.
type Problem = problem.Details

// Problem types of the front doors.
const (
	ProblemTypePrefix           = problem.TypePrefix
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
const ContentTypeProblem = problem.ContentType

// clientDetail is err in the client's terms (no package prefixes).
func clientDetail(err error) string { return problem.Detail(err) }
