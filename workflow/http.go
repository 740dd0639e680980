package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/storagefirst/storagefirst-go/problem"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// Defaults of HTTPConfig.
const (
	// HTTPTimeoutDefault bounds the wait for an execution behind a front door.
	HTTPTimeoutDefault = 25 * time.Second
	// HTTPMaxBodyDefault bounds the request body.
	HTTPMaxBodyDefault = 256 << 10
	// ProblemTypePrefix starts the type URIs of the problem+json answers.
	ProblemTypePrefix = problem.TypePrefix
	// HeaderCorrelationIDDefault carries the correlation ID: a request's is
	// kept (up to storagefirst.MaxCorrelationIDLength bytes), a missing or
	// longer one generated (storagefirst.CorrelationID); every
	// answer carries it, and a problem's instance is it.
	HeaderCorrelationIDDefault = "X-Correlation-Id"
	// HeaderExecutionID carries the ID of the execution that answered.
	HeaderExecutionID = "X-Execution-Id"
	// IdempotencyKeyHeader names the request header whose value becomes the
	// execution name (WithExecutionName): a retried request with the same key is
	// answered from the first execution. The local engine honours it; a Starter
	// that ignores the name (sfn.Starter: Express executions are not unique by
	// name) starts again.
	IdempotencyKeyHeader = "Idempotency-Key"
)

// HTTPConfig configures an HTTPHandler. Starter is required.
type HTTPConfig struct {
	Starter Starter
	// Input builds the execution input from the request and its body (already
	// checked to be JSON). Default: the body. An error answers 400.
	Input func(r *http.Request, body []byte) (json.RawMessage, error)
	// Timeout bounds the wait; an execution still running then answers 504.
	// Default HTTPTimeoutDefault.
	Timeout time.Duration
	// MaxBodyBytes bounds the body. Default HTTPMaxBodyDefault.
	MaxBodyBytes int
	// Status maps an execution's error name to the HTTP status of the answer, e.g.
	// {"OrderNotFound": 404, "OrderNotCancellable": 409}; the answer's detail is
	// then the failure's cause, so write causes of listed names for the client.
	// Unmapped failures answer 502 Bad Gateway with a generic detail and the
	// error name (the "error" member); their cause, which may be a driver
	// message or a stack trace, is only logged, with the correlation ID.
	Status map[string]int
	// CorrelationHeader names the correlation ID header. Default
	// HeaderCorrelationIDDefault.
	CorrelationHeader string
	Logger            *slog.Logger
}

// HTTPHandler is the front door of a synchronous workflow: it starts it and answers
// with the real outcome. It is safe for concurrent use.
type HTTPHandler struct {
	cfg HTTPConfig
}

// NewHTTPHandler validates cfg and returns the handler.
func NewHTTPHandler(cfg HTTPConfig) (*HTTPHandler, error) {
	if cfg.Starter == nil {
		return nil, errors.New("workflow: HTTPConfig.Starter is required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = HTTPTimeoutDefault
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = HTTPMaxBodyDefault
	}
	if cfg.Input == nil {
		cfg.Input = func(_ *http.Request, body []byte) (json.RawMessage, error) { return body, nil }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.CorrelationHeader == "" {
		cfg.CorrelationHeader = HeaderCorrelationIDDefault
	}
	return &HTTPHandler{cfg: cfg}, nil
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

// problemAnswer is a problem+json answer of type ProblemTypePrefix+typ. Its
// instance is the correlation ID; the execution's ID (also in X-Execution-Id)
// and error name, when there are, are the extension members execution_id and
// error.
func problemAnswer(status int, typ, detail, corr, execID, errName string) answer {
	d := problem.Details{Type: ProblemTypePrefix + typ, Status: status, Detail: detail, Instance: corr}
	if execID != "" || errName != "" {
		d.Extensions = map[string]any{}
	}
	if execID != "" {
		d.Extensions["execution_id"] = execID
	}
	if errName != "" {
		d.Extensions["error"] = errName
	}
	h := problem.Header("", "")
	if execID != "" {
		h.Set(HeaderExecutionID, execID)
	}
	return answer{status, h, d.Body()}
}

// unlistedFailureDetail is the detail of a failure whose name is not in
// HTTPConfig.Status: the name, never the cause.
func unlistedFailureDetail(name string) string {
	if name == "" {
		return "the workflow failed"
	}
	return "the workflow failed with error " + name
}

// correlationID is r's correlation ID, or a new one.
func (h *HTTPHandler) correlationID(r *http.Request) string {
	return storagefirst.CorrelationID(r.Header.Get(h.cfg.CorrelationHeader))
}

// run starts the execution and maps its outcome.
func (h *HTTPHandler) run(ctx context.Context, r *http.Request, body []byte, contentType, corr string) answer {
	if len(body) == 0 { // POST /orders/{id}/cancel needs no body
		body, contentType = []byte("{}"), "application/json"
	}
	if mt, _, err := mime.ParseMediaType(contentType); err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return problemAnswer(http.StatusUnsupportedMediaType, "unsupported-media-type", "send application/json", corr, "", "")
	}
	if !json.Valid(body) {
		return problemAnswer(http.StatusBadRequest, "invalid-body", "the body is not JSON", corr, "", "")
	}
	input, err := h.cfg.Input(r, body)
	if err != nil {
		return problemAnswer(http.StatusBadRequest, "invalid-body", problem.Detail(err), corr, "", "")
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	if key := r.Header.Get(IdempotencyKeyHeader); key != "" {
		// A retried request finds the first execution instead of running again.
		ctx = WithExecutionName(ctx, key)
	}
	res, err := h.cfg.Starter.StartSync(ctx, input)
	var fe *FailedError
	switch {
	case err == nil:
		hd := http.Header{}
		hd.Set("Content-Type", "application/json")
		hd.Set(HeaderExecutionID, res.ExecutionID)
		out := res.Output
		if len(out) == 0 {
			out = json.RawMessage("{}")
		}
		return answer{http.StatusOK, hd, out}
	case errors.As(err, &fe) && fe.Status == StatusTimedOut:
		return problemAnswer(http.StatusGatewayTimeout, "workflow-timed-out", fe.Cause, corr, fe.ExecutionID, fe.Name)
	case errors.As(err, &fe):
		if status, listed := h.cfg.Status[fe.Name]; listed {
			// A failure the application names is part of its API: its cause
			// is written for the client.
			return problemAnswer(status, "workflow-failed", fe.Cause, corr, fe.ExecutionID, fe.Name)
		}
		// Any other cause may be a driver message or a stack trace: it goes to
		// the log, the client gets the error name.
		h.cfg.Logger.ErrorContext(ctx, "workflow: execution failed", "correlation_id", corr,
			"execution_id", fe.ExecutionID, "error", fe.Name, "cause", fe.Cause)
		return problemAnswer(http.StatusBadGateway, "workflow-failed", unlistedFailureDetail(fe.Name), corr, fe.ExecutionID, fe.Name)
	case errors.Is(err, ErrInputTooLarge):
		return problemAnswer(http.StatusRequestEntityTooLarge, "too-large", problem.Detail(err), corr, "", "")
	case errors.Is(err, ErrInvalidInput):
		return problemAnswer(http.StatusBadRequest, "invalid-body", problem.Detail(err), corr, "", "")
	case errors.Is(err, ErrNameInUse):
		return problemAnswer(http.StatusConflict, "idempotency-key-in-use",
			"the Idempotency-Key was used for a request with another body", corr, "", "")
	case errors.Is(err, ErrOutcomeUnknown):
		// It started, and a task may have run: never "not started; retry". The
		// ID finds it; a retry with the same Idempotency-Key finds it too.
		h.cfg.Logger.ErrorContext(ctx, "workflow: outcome not recorded", "execution_id", res.ExecutionID, "error", err)
		a := problemAnswer(http.StatusInternalServerError, "workflow-outcome-unknown",
			"the workflow started, but its outcome could not be recorded; it will be finished or dead-lettered",
			corr, res.ExecutionID, "")
		return a
	case errors.Is(err, context.DeadlineExceeded):
		return problemAnswer(http.StatusGatewayTimeout, "workflow-timed-out", "no answer within "+h.cfg.Timeout.String(), corr, res.ExecutionID, "")
	default:
		h.cfg.Logger.WarnContext(ctx, "workflow: could not start", "error", err)
		a := problemAnswer(http.StatusServiceUnavailable, "workflow-not-started", "the workflow could not be started; retry", corr, "", "")
		a.header.Set("Retry-After", "1")
		return a
	}
}

// ServeHTTP runs the workflow for a JSON request.
func (h *HTTPHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	corr := h.correlationID(r)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(h.cfg.MaxBodyBytes)))
	var a answer
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		a = problemAnswer(http.StatusRequestEntityTooLarge, "too-large", fmt.Sprintf("the body is larger than %d bytes", h.cfg.MaxBodyBytes), corr, "", "")
	case err != nil:
		a = problemAnswer(http.StatusBadRequest, "invalid-body", "the body could not be read", corr, "", "")
	default:
		a = h.run(r.Context(), r, body, r.Header.Get("Content-Type"), corr)
	}
	a.header.Set(h.cfg.CorrelationHeader, corr)
	for k, vs := range a.header {
		w.Header()[k] = vs
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}
