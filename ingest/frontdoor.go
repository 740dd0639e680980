package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/storagefirst/storagefirst-go/problem"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// Defaults and limits of FrontDoorConfig.
const (
	// MaxBodyBytesDefault is the body limit when none is set: 256 KiB.
	MaxBodyBytesDefault = 256 << 10
	// MaxBodyBytesLimit is the largest body limit a front door accepts: 1 MiB, the
	// EventBridge, SQS and Lambda asynchronous payload limit.
	MaxBodyBytesLimit = 1 << 20
	// RetryAfterDefault is the Retry-After of a 503.
	RetryAfterDefault = time.Second
	// IdempotencyLeaseDefault bounds how long a key is "in progress" (409) while its
	// first request is being persisted, for a Sink that is not a KeyedSink (a
	// KeyedSink never leaves a key in progress).
	IdempotencyLeaseDefault = 30 * time.Second
	// MaxKeyLength is the longest Idempotency-Key accepted. (A correlation ID
	// longer than storagefirst.MaxCorrelationIDLength is replaced; see
	// storagefirst.CorrelationID.)
	MaxKeyLength = 255
	// HeaderIdempotencyKey carries the client's idempotency key.
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderCorrelationIDDefault carries the correlation ID.
	HeaderCorrelationIDDefault = "X-Correlation-Id"
	// HeaderIdempotentReplayed is set on an answer replayed for a repeated key.
	HeaderIdempotentReplayed = "Idempotent-Replayed"
)

// FrontDoorConfig configures a FrontDoor. Sink and Type are required; every other
// zero field means its documented default.
type FrontDoorConfig struct {
	// Sink persists accepted requests.
	Sink storagefirst.Sink
	// Type is the envelope type of accepted requests, e.g. "pizza.order.create".
	Type string
	// Source is the envelope source. Default: the request path.
	Source string
	// MaxBodyBytes bounds the body: MaxBodyBytesDefault when zero, at most
	// MaxBodyBytesLimit.
	MaxBodyBytes int
	// AllowUnknownFields accepts body fields the payload type does not declare.
	AllowUnknownFields bool
	// Idempotency makes the Idempotency-Key header exact for a Sink that is not a
	// KeyedSink: a repeat with the same body gets the first answer without
	// persisting again (422 for another body, 409 while the first is still being
	// persisted). It is a separate write from the envelope's, so it is best effort
	// across crashes; see the package documentation. A KeyedSink needs none: it
	// records the key in the envelope's own transaction. Without either, the key
	// is still put on the envelope, for consumers to deduplicate.
	Idempotency storagefirst.IdempotencyStore
	// IdempotencyScope namespaces keys. Default: Type.
	IdempotencyScope string
	// IdempotencyTTL is how long an answer is kept for repeats. Default
	// storagefirst.IdempotencyTTLDefault.
	IdempotencyTTL time.Duration
	// RequireIdempotencyKey answers 400 to requests without the header. It needs
	// a KeyedSink or an Idempotency store.
	RequireIdempotencyKey bool
	// CorrelationHeader names the correlation ID header. Default
	// HeaderCorrelationIDDefault. A missing or too long one is generated
	// (storagefirst.CorrelationID); every answer, errors included, carries it.
	CorrelationHeader string
	// MetadataHeaders are copied into the envelope's metadata (lower-cased names),
	// e.g. "traceparent".
	MetadataHeaders []string
	// Location, if set, makes a 202 carry a Location header, e.g. the URL where
	// the result will appear.
	Location func(env storagefirst.Envelope) string
	// RetryAfter is the Retry-After of a 503. Default RetryAfterDefault.
	RetryAfter time.Duration
	// Logger logs sink failures. Default slog.Default().
	Logger *slog.Logger
}

// KeyedSink is a Sink that stores an envelope and the record of its idempotency key
// in one transaction (pgstore and sqlitestore queues are KeyedSinks). PutKeyed
// stores both, or returns the key's live record without storing anything, or fails
// with storagefirst.ErrFingerprintMismatch when the key was used for another
// request; a failure stores nothing and leaves the key free, unless it wraps
// storagefirst.ErrOutcomeUnknown (the commit may have happened). See
// storagefirst.KeyedPut.
type KeyedSink interface {
	storagefirst.Sink
	PutKeyed(ctx context.Context, p storagefirst.KeyedPut) (storagefirst.KeyedResult, error)
}

// FrontDoor accepts requests of payload type T storage-first. It is safe for
// concurrent use.
type FrontDoor[T any] struct {
	cfg FrontDoorConfig
}

// Accepted is the JSON body of a 202.
type Accepted struct {
	ID            string `json:"id"`
	CorrelationID string `json:"correlation_id,omitempty"`
}

// NewFrontDoor validates cfg, reporting every problem, and returns a FrontDoor.
func NewFrontDoor[T any](cfg FrontDoorConfig) (*FrontDoor[T], error) {
	var errs []error
	if cfg.Sink == nil {
		errs = append(errs, errors.New("ingest: FrontDoorConfig.Sink is required"))
	}
	if cfg.Type == "" {
		errs = append(errs, errors.New("ingest: FrontDoorConfig.Type is required"))
	}
	if cfg.MaxBodyBytes < 0 || cfg.MaxBodyBytes > MaxBodyBytesLimit {
		errs = append(errs, fmt.Errorf("ingest: FrontDoorConfig.MaxBodyBytes %d is outside 0..%d", cfg.MaxBodyBytes, MaxBodyBytesLimit))
	}
	if cfg.IdempotencyTTL < 0 || cfg.RetryAfter < 0 {
		errs = append(errs, errors.New("ingest: FrontDoorConfig durations must not be negative"))
	}
	if _, keyed := cfg.Sink.(KeyedSink); cfg.RequireIdempotencyKey && cfg.Idempotency == nil && !keyed {
		errs = append(errs, errors.New("ingest: RequireIdempotencyKey needs an Idempotency store or a KeyedSink"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = MaxBodyBytesDefault
	}
	if cfg.IdempotencyScope == "" {
		cfg.IdempotencyScope = cfg.Type
	}
	if cfg.IdempotencyTTL == 0 {
		cfg.IdempotencyTTL = storagefirst.IdempotencyTTLDefault
	}
	if cfg.CorrelationHeader == "" {
		cfg.CorrelationHeader = HeaderCorrelationIDDefault
	}
	if cfg.RetryAfter == 0 {
		cfg.RetryAfter = RetryAfterDefault
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &FrontDoor[T]{cfg: cfg}, nil
}

// Request is a transport-free request to a front door.
type Request struct {
	Method string
	Path   string
	// Header returns the value of a header, case-insensitively.
	Header func(name string) string
	Body   []byte
	// BodyTooLarge is set by a transport that stopped reading past the limit.
	BodyTooLarge bool
}

// Response is a transport-free answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Accept runs the storage-first protocol for one request and returns the answer:
// it validates, persists through the Sink, and answers 202 only once the envelope is
// durable.
func (f *FrontDoor[T]) Accept(ctx context.Context, r Request) Response {
	cfg := f.cfg
	corr := storagefirst.CorrelationID(r.Header(cfg.CorrelationHeader))
	problem := func(status int, typ, detail string) Response {
		return problemResponse(Problem{Type: typ, Status: status, Detail: detail, Instance: corr}, corr, cfg.CorrelationHeader)
	}
	if r.Method != "" && r.Method != http.MethodPost && r.Method != http.MethodPut {
		resp := problem(http.StatusMethodNotAllowed, ProblemMethodNotAllowed, "use POST or PUT")
		resp.Header.Set("Allow", "POST, PUT")
		return resp
	}
	if r.BodyTooLarge || len(r.Body) > cfg.MaxBodyBytes {
		return problem(http.StatusRequestEntityTooLarge, ProblemTooLarge, fmt.Sprintf("the body is larger than %d bytes", cfg.MaxBodyBytes))
	}
	if !isJSON(r.Header("Content-Type")) {
		return problem(http.StatusUnsupportedMediaType, ProblemUnsupportedMediaType, "send application/json")
	}
	// Text is what was sent: invalid bytes are refused, never replaced.
	body, err := utf8Body(r.Header("Content-Type"), r.Body)
	if errors.Is(err, errUnsupportedCharset) {
		return problem(http.StatusUnsupportedMediaType, ProblemUnsupportedMediaType, err.Error())
	} else if err != nil {
		return problem(http.StatusBadRequest, ProblemInvalidBody, err.Error())
	}
	r.Body = body
	if isNull(body) {
		return problem(http.StatusBadRequest, ProblemInvalidBody, "null is not a request")
	}
	key := r.Header(HeaderIdempotencyKey)
	switch {
	case len(key) > MaxKeyLength:
		return problem(http.StatusBadRequest, ProblemInvalidBody, fmt.Sprintf("Idempotency-Key is longer than %d characters", MaxKeyLength))
	case key == "" && cfg.RequireIdempotencyKey:
		return problem(http.StatusBadRequest, ProblemKeyRequired, "this endpoint requires an Idempotency-Key header")
	}
	if _, err := Decode[T](r.Body, DecodeConfig{MaxBytes: cfg.MaxBodyBytes, AllowUnknownFields: cfg.AllowUnknownFields}); err != nil {
		return problem(http.StatusBadRequest, ProblemInvalidBody, clientDetail(err))
	}

	env, err := storagefirst.NewEnvelope(cfg.Type, r.Body)
	if err != nil {
		return problem(http.StatusBadRequest, ProblemInvalidBody, clientDetail(err))
	}
	env.Source = cfg.Source
	if env.Source == "" {
		env.Source = r.Path
	}
	env.IdempotencyKey = key
	env.CorrelationID = corr
	for _, h := range cfg.MetadataHeaders {
		if v := r.Header(h); v != "" {
			if env.Metadata == nil {
				env.Metadata = map[string]string{}
			}
			env.Metadata[strings.ToLower(h)] = v
		}
	}
	if err := env.Validate(); err != nil {
		return problem(http.StatusBadRequest, ProblemInvalidBody, clientDetail(err))
	}

	if key != "" {
		if ks, ok := cfg.Sink.(KeyedSink); ok {
			return f.persistKeyed(ctx, ks, env, problem)
		}
	}
	if key == "" || cfg.Idempotency == nil {
		return f.persist(ctx, env, problem)
	}
	return f.persistOnce(ctx, env, problem)
}

// persist puts env and answers 202, or 503 if it is not durable.
func (f *FrontDoor[T]) persist(ctx context.Context, env storagefirst.Envelope, problem func(int, string, string) Response) Response {
	if err := f.cfg.Sink.Put(ctx, env); err != nil {
		return f.notPersisted(ctx, env, err, problem)
	}
	return f.accepted(env, false)
}

// notPersisted answers a failed write. A permanent error is the sink refusing the
// envelope for good (the database or the service rejected what it holds; a retry
// would fail alike): 413 when it wraps storagefirst.ErrTooLarge (over a limit of
// the sink narrower than the front door's body limit), else 422, both without
// Retry-After. Anything else is 503 with Retry-After, "not stored" when
// the sink says so, "outcome unknown" when the write may have committed (the
// sink's error wraps storagefirst.ErrOutcomeUnknown, or the request's context
// ended during it).
func (f *FrontDoor[T]) notPersisted(ctx context.Context, env storagefirst.Envelope, err error, problem func(int, string, string) Response) Response {
	if storagefirst.IsPermanent(err) {
		if errors.Is(err, storagefirst.ErrTooLarge) {
			f.cfg.Logger.InfoContext(ctx, "ingest: the sink refused the request as too large; answering 413", "envelope_id", env.ID, "error", err)
			return problem(http.StatusRequestEntityTooLarge, ProblemTooLarge,
				"the request is larger than the store accepts; do not retry it unchanged")
		}
		f.cfg.Logger.InfoContext(ctx, "ingest: the sink refused the request for good; answering 422", "envelope_id", env.ID, "error", err)
		return problem(http.StatusUnprocessableEntity, ProblemInvalidBody,
			"the request cannot be stored as it is; do not retry it unchanged")
	}
	if errors.Is(err, storagefirst.ErrOutcomeUnknown) || ctx.Err() != nil {
		f.cfg.Logger.WarnContext(ctx, "ingest: outcome of the write unknown; answering 503", "envelope_id", env.ID, "error", err)
		detail := "outcome unknown; retry with the same Idempotency-Key"
		if env.IdempotencyKey == "" {
			detail = "outcome unknown: the request may have been stored; send an Idempotency-Key to retry safely"
		}
		return f.unavailable(problem, ProblemOutcomeUnknown, detail)
	}
	f.cfg.Logger.WarnContext(ctx, "ingest: not persisted; answering 503", "envelope_id", env.ID, "error", err)
	return f.unavailable(problem, ProblemNotPersisted, "the request was not stored; retry it")
}

// unavailable is a 503 of problem type typ with the configured Retry-After.
func (f *FrontDoor[T]) unavailable(problem func(int, string, string) Response, typ, detail string) Response {
	resp := problem(http.StatusServiceUnavailable, typ, detail)
	resp.Header.Set("Retry-After", strconv.Itoa(int((f.cfg.RetryAfter+time.Second-1)/time.Second)))
	return resp
}

// acceptedBody is the JSON body of the 202 for env.
func acceptedBody(env storagefirst.Envelope) []byte {
	body, _ := json.Marshal(Accepted{ID: env.ID, CorrelationID: env.CorrelationID})
	return body
}

func (f *FrontDoor[T]) accepted(env storagefirst.Envelope, replayed bool) Response {
	body := acceptedBody(env)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(f.cfg.CorrelationHeader, env.CorrelationID)
	if f.cfg.Location != nil {
		if loc := f.cfg.Location(env); loc != "" {
			h.Set("Location", loc)
		}
	}
	if replayed {
		h.Set(HeaderIdempotentReplayed, "true")
	}
	return Response{Status: http.StatusAccepted, Header: h, Body: body}
}

// persistKeyed is persist under an idempotency key through a KeyedSink: the
// envelope and the key's record commit together, so a repeat finds the first
// request exactly when it was stored, and a failed write leaves the key free.
func (f *FrontDoor[T]) persistKeyed(ctx context.Context, ks KeyedSink, env storagefirst.Envelope, problem func(int, string, string) Response) Response {
	cfg := f.cfg
	res, err := ks.PutKeyed(ctx, storagefirst.KeyedPut{Scope: cfg.IdempotencyScope, Key: env.IdempotencyKey,
		Fingerprint: fingerprint(env), Answer: acceptedBody(env), TTL: cfg.IdempotencyTTL, Envelope: env})
	// Only a claim taken through an IdempotencyStore (not by this front door)
	// holds a key in progress.
	if resp, ok := keyRefused(err, problem); ok {
		return resp
	}
	switch {
	case err != nil:
		return f.notPersisted(ctx, env, err, problem)
	case !res.Stored:
		return f.replay(env, res.Record, problem)
	}
	return f.accepted(env, false)
}

// keyRefused answers err when it refuses the request's idempotency key: 422 when
// the key was used for a different request (ErrFingerprintMismatch), 409 with
// Retry-After when a request with it is still being processed (ErrInProgress).
func keyRefused(err error, problem func(int, string, string) Response) (Response, bool) {
	switch {
	case errors.Is(err, storagefirst.ErrFingerprintMismatch):
		return problem(http.StatusUnprocessableEntity, ProblemKeyReused, "this Idempotency-Key was used for a different request"), true
	case errors.Is(err, storagefirst.ErrInProgress):
		resp := problem(http.StatusConflict, ProblemKeyInProgress, "a request with this Idempotency-Key is still being processed")
		resp.Header.Set("Retry-After", "1")
		return resp, true
	}
	return Response{}, false
}

// replay answers a repeat of a key with the first request's answer, rec's outcome.
func (f *FrontDoor[T]) replay(env storagefirst.Envelope, rec storagefirst.IdempotencyRecord, problem func(int, string, string) Response) Response {
	var prev Accepted
	if json.Unmarshal(rec.Outcome.Result, &prev) != nil || prev.ID == "" {
		return problem(http.StatusConflict, ProblemKeyInProgress, "the first request with this Idempotency-Key has no answer to replay")
	}
	return f.accepted(storagefirst.Envelope{ID: prev.ID, CorrelationID: prev.CorrelationID, Type: f.cfg.Type,
		IdempotencyKey: env.IdempotencyKey}, true)
}

// fingerprint identifies a request's body: compact JSON, so white space does not
// count.
func fingerprint(env storagefirst.Envelope) string {
	sum := sha256.Sum256(env.Payload)
	return hex.EncodeToString(sum[:])
}

// persistOnce is persist under an idempotency key for a Sink that cannot record
// the key itself, through the separate Idempotency store: the first request with
// the key persists; repeats get its answer.
func (f *FrontDoor[T]) persistOnce(ctx context.Context, env storagefirst.Envelope, problem func(int, string, string) Response) Response {
	cfg := f.cfg
	fp := fingerprint(env)
	lease := IdempotencyLeaseDefault
	if dl, ok := ctx.Deadline(); ok {
		lease = max(min(lease, time.Until(dl)), time.Second)
	}
	res, err := cfg.Idempotency.Begin(ctx, cfg.IdempotencyScope, env.IdempotencyKey, fp, lease)
	if resp, ok := keyRefused(err, problem); ok {
		return resp
	}
	switch {
	case err != nil:
		cfg.Logger.WarnContext(ctx, "ingest: idempotency store failed; answering 503", "error", err)
		return f.unavailable(problem, ProblemNotPersisted, "the request was not stored; retry it")
	case !res.Acquired:
		return f.replay(env, res.Record, problem)
	}

	resp := f.persist(ctx, env, problem)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if resp.Status != http.StatusAccepted {
		if err := cfg.Idempotency.Release(rctx, res.Claim); err != nil {
			cfg.Logger.WarnContext(ctx, "ingest: releasing an idempotency key failed; it frees itself when its lease ends", "error", err)
		}
		return resp
	}
	// What a repeat needs to answer the same: the body of this 202.
	answer := resp.Body
	if err := cfg.Idempotency.Complete(rctx, res.Claim, storagefirst.Outcome{Result: answer}, cfg.IdempotencyTTL); err != nil {
		// The envelope is durable, so the answer stays 202. A repeat may persist a
		// second envelope with the same idempotency key, which consumers deduplicate.
		cfg.Logger.WarnContext(ctx, "ingest: recording the answer for the Idempotency-Key failed", "envelope_id", env.ID, "error", err)
	}
	return resp
}

func problemResponse(p Problem, corr, corrHeader string) Response {
	return Response{Status: p.Status, Header: problem.Header(corrHeader, corr), Body: p.Body()}
}

// isJSON accepts application/json and any application/*+json.
func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")
}
