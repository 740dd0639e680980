package storagefirst

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits an Envelope is checked against by [Envelope.Validate].
const (
	// MaxTypeLength is the longest Type, Source, IdempotencyKey or CorrelationID, in bytes.
	MaxTypeLength = 256
	// MaxMetadataEntries is the largest number of metadata entries.
	MaxMetadataEntries = 64
	// MaxMetadataSize is the largest total size of metadata keys and values, in bytes.
	MaxMetadataSize = 16 << 10
	// DefaultMaxEnvelopeSize is the encoded size limit front doors apply when they are
	// given none: 256 KiB, the historical EventBridge, SQS and Lambda async limit.
	DefaultMaxEnvelopeSize = 256 << 10
)

// Envelope is the unit that is persisted before any business logic runs.
//
// An Envelope round-trips through JSON, and through every store, losslessly once it
// is in its canonical form: AcceptedAt in UTC at microsecond precision (what
// Postgres keeps) and the Payload compact JSON, which is what [NewEnvelope] and
// [Envelope.Normalize] produce. Stores normalize what they are given.
type Envelope struct {
	// ID is unique and time-ordered (a UUIDv7 from NewID). Stores use it to ignore a
	// repeated Put of the same envelope.
	ID string `json:"id"`
	// Type names what the payload is, e.g. "pizza.order.create". Required.
	Type string `json:"type"`
	// Source names who sent it, e.g. "com.lee.pizza" or an HTTP route.
	Source string `json:"source,omitempty"`
	// AcceptedAt is when the front door accepted the request (UTC).
	AcceptedAt time.Time `json:"accepted_at"`
	// IdempotencyKey identifies the effect this envelope asks for; two envelopes with
	// the same key must have the effect once. Empty means the ID (see Key).
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	// CorrelationID ties the envelope to the request and the logs around it.
	CorrelationID string `json:"correlation_id,omitempty"`
	// Attempt is the delivery attempt, 1 for the first; 0 before any delivery.
	Attempt int `json:"attempt,omitempty"`
	// Metadata holds string attributes (trace headers, tenant, ...).
	Metadata map[string]string `json:"metadata,omitempty"`
	// Payload is the request body, as JSON.
	Payload json.RawMessage `json:"payload,omitempty"`
}

// NewEnvelope returns an envelope with a new ID, AcceptedAt set to now (UTC), and the
// given type and payload in compact form. It fails with ErrInvalidEnvelope when
// typ is empty or payload is not valid JSON.
func NewEnvelope(typ string, payload []byte) (Envelope, error) {
	now := time.Now()
	env := Envelope{ID: newIDAt(now), Type: typ, AcceptedAt: now, Payload: payload}
	if err := env.Normalize(); err != nil {
		return Envelope{}, err
	}
	return env, env.Validate()
}

// NewEnvelopeJSON is NewEnvelope with v encoded by encoding/json.
func NewEnvelopeJSON(typ string, v any) (Envelope, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return Envelope{}, fmt.Errorf("%w: encode payload: %w", ErrInvalidEnvelope, err)
	}
	return NewEnvelope(typ, b)
}

// Key returns the idempotency key: IdempotencyKey, or the ID when that is empty.
func (e Envelope) Key() string {
	if e.IdempotencyKey != "" {
		return e.IdempotencyKey
	}
	return e.ID
}

// Normalize puts e in canonical form: AcceptedAt in UTC, truncated to the
// microsecond, without a monotonic clock reading, and the payload compacted. It
// fails with ErrInvalidEnvelope when the payload is not valid JSON.
func (e *Envelope) Normalize() error {
	e.AcceptedAt = e.AcceptedAt.UTC().Truncate(time.Microsecond)
	if len(e.Payload) == 0 {
		e.Payload = nil
		return nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, e.Payload); err != nil {
		return fmt.Errorf("%w: payload is not valid JSON: %w", ErrInvalidEnvelope, err)
	}
	if buf.Len() != len(e.Payload) {
		e.Payload = buf.Bytes()
	}
	return nil
}

// Validate reports whether e can be persisted by every store: an ID and a Type,
// fields within MaxTypeLength, valid UTF-8 without NUL bytes (Postgres text cannot
// hold a NUL, nor jsonb its \u0000 escape) in every field and metadata key and
// value, metadata within MaxMetadataEntries and MaxMetadataSize, and a payload that
// is valid JSON in valid UTF-8. (A \u0000 escape inside the payload's JSON is
// allowed: stores keep the payload as text.) Every problem is reported, each
// wrapping ErrInvalidEnvelope.
func (e Envelope) Validate() error { return e.validate(true) }

// validate is Validate; checkPayload false skips the payload's JSON scan when
// Normalize has just compacted it (and so proved it valid).
func (e Envelope) validate(checkPayload bool) error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidEnvelope}, args...)...))
	}
	if e.ID == "" {
		bad("missing id")
	}
	if e.Type == "" {
		bad("missing type")
	}
	for _, f := range [...]struct{ name, v string }{{"id", e.ID}, {"type", e.Type},
		{"source", e.Source}, {"idempotency key", e.IdempotencyKey}, {"correlation id", e.CorrelationID}} {
		name, v := f.name, f.v
		if len(v) > MaxTypeLength {
			bad("%s is %d bytes, limit %d", name, len(v), MaxTypeLength)
		}
		if !utf8.ValidString(v) {
			bad("%s is not valid UTF-8", name)
		}
		if strings.IndexByte(v, 0) >= 0 {
			bad("%s holds a NUL byte", name)
		}
	}
	if e.Attempt < 0 {
		bad("negative attempt %d", e.Attempt)
	}
	if len(e.Metadata) > MaxMetadataEntries {
		bad("%d metadata entries, limit %d", len(e.Metadata), MaxMetadataEntries)
	}
	size := 0
	for k, v := range e.Metadata {
		size += len(k) + len(v)
		if k == "" || !utf8.ValidString(k) || !utf8.ValidString(v) {
			bad("metadata entry %q is empty or not valid UTF-8", k)
		}
		if strings.IndexByte(k, 0) >= 0 || strings.IndexByte(v, 0) >= 0 {
			bad("metadata entry %q holds a NUL byte", k)
		}
	}
	if size > MaxMetadataSize {
		bad("metadata is %d bytes, limit %d", size, MaxMetadataSize)
	}
	if checkPayload && len(e.Payload) > 0 && !json.Valid(e.Payload) {
		bad("payload is not valid JSON")
	}
	// encoding/json accepts invalid UTF-8 inside strings; no text column does.
	if !utf8.Valid(e.Payload) {
		bad("payload is not valid UTF-8")
	}
	return errors.Join(errs...)
}

// EncodedSize returns the length of e's JSON encoding, in bytes.
func (e Envelope) EncodedSize() int {
	b, err := json.Marshal(e)
	if err != nil {
		return -1
	}
	return len(b)
}

// CheckSize returns an error wrapping ErrTooLarge when e's JSON encoding is longer
// than limit bytes.
func (e Envelope) CheckSize(limit int) error {
	if n := e.EncodedSize(); n < 0 || n > limit {
		return fmt.Errorf("%w: envelope %s is %d bytes encoded, limit %d", ErrTooLarge, e.ID, n, limit)
	}
	return nil
}

// Clone returns a deep copy of e: changing the copy's Metadata or Payload leaves e
// alone.
func (e Envelope) Clone() Envelope {
	e.Metadata = maps.Clone(e.Metadata)
	if e.Payload != nil {
		e.Payload = bytes.Clone(e.Payload)
	}
	return e
}
