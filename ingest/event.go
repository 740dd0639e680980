package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// Errors of decoding. Each decoding error wraps one of them and
// storagefirst.ErrInvalidEnvelope, except a payload over the limit, which wraps
// storagefirst.ErrTooLarge.
var (
	// ErrMalformed: the bytes are not one JSON value of the expected shape.
	ErrMalformed = errors.New("ingest: malformed JSON")
	// ErrUnknownField: the JSON has a field the type does not know.
	ErrUnknownField = errors.New("ingest: unknown field")
	// ErrValidation: the value's Validate method rejected it.
	ErrValidation = errors.New("ingest: validation failed")
)

// Validator is implemented by payload types that check themselves after decoding.
type Validator interface {
	Validate() error
}

// Event is a typed view of an envelope: the envelope and its payload decoded.
type Event[T any] struct {
	storagefirst.Envelope
	Data T
}

// DecodeConfig bounds decoding. The zero value means the defaults.
type DecodeConfig struct {
	// MaxBytes bounds the payload; zero means storagefirst.DefaultMaxEnvelopeSize.
	MaxBytes int
	// AllowUnknownFields accepts fields T does not declare (they are dropped).
	AllowUnknownFields bool
}

// Decode decodes data, one JSON value, into a T and validates it: it fails with
// storagefirst.ErrTooLarge beyond the limit, ErrMalformed for bad JSON, a wrong
// shape or trailing data, ErrUnknownField for a field T does not declare (unless
// allowed; invalid UTF-8, and a top-level JSON null unless T is a pointer, are
// ErrMalformed too), and ErrValidation when T (or *T) implements Validator and rejects it.
// Decode never panics, whatever the bytes.
func Decode[T any](data []byte, cfg DecodeConfig) (T, error) {
	var v T
	limit := cfg.MaxBytes
	if limit <= 0 {
		limit = storagefirst.DefaultMaxEnvelopeSize
	}
	if len(data) > limit {
		return v, fmt.Errorf("%w: payload is %d bytes, limit %d", storagefirst.ErrTooLarge, len(data), limit)
	}
	if !utf8.Valid(data) {
		return v, fmt.Errorf("%w: %w: the data is not valid UTF-8", storagefirst.ErrInvalidEnvelope, ErrMalformed)
	}
	if isNull(data) && reflect.TypeFor[T]().Kind() != reflect.Pointer {
		return v, fmt.Errorf("%w: %w: null is not a request", storagefirst.ErrInvalidEnvelope, ErrMalformed)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if !cfg.AllowUnknownFields {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(&v); err != nil {
		var zero T
		return zero, decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		var zero T
		return zero, fmt.Errorf("%w: %w: data after the JSON value", storagefirst.ErrInvalidEnvelope, ErrMalformed)
	}
	if err := validate(v); err != nil {
		var zero T
		return zero, fmt.Errorf("%w: %w: %w", storagefirst.ErrInvalidEnvelope, ErrValidation, err)
	}
	return v, nil
}

// isNull reports whether data is the JSON literal null (with JSON whitespace).
func isNull(data []byte) bool { return string(bytes.Trim(data, " \t\r\n")) == "null" }

func decodeError(err error) error {
	msg := err.Error()
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	// encoding/json says "json: unknown field" for DisallowUnknownFields.
	if bytes.HasPrefix([]byte(msg), []byte("json: unknown field ")) {
		return fmt.Errorf("%w: %w: %s", storagefirst.ErrInvalidEnvelope, ErrUnknownField, msg[len("json: "):])
	}
	if errors.Is(err, io.EOF) {
		msg = "empty body"
	}
	// Say it in JSON's terms, not Go's: no Go type names in a client's answer.
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		msg = fmt.Sprintf("%s must be %s, not %s", typeErr.Field, jsonKind(typeErr.Type), article(typeErr.Value))
	case errors.As(err, &typeErr):
		msg = fmt.Sprintf("the body must be %s, not %s", jsonKind(typeErr.Type), article(typeErr.Value))
	case errors.As(err, &syntaxErr):
		msg = fmt.Sprintf("%s (at byte %d)", strings.TrimPrefix(syntaxErr.Error(), "json: "), syntaxErr.Offset)
	default:
		msg = strings.TrimPrefix(msg, "json: ")
	}
	return fmt.Errorf("%w: %w: %s", storagefirst.ErrInvalidEnvelope, ErrMalformed, msg)
}

// jsonKind names the JSON value a Go type decodes from.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8,
		reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "another value"
}

// article is a JSON value kind as encoding/json names it ("number", "array",
// "object", ...) with its article.
func article(kind string) string {
	if kind == "" {
		return "this value"
	}
	if strings.ContainsRune("aeiou", rune(kind[0])) {
		return "an " + kind
	}
	return "a " + kind
}

// validate calls Validate on v or &v, whichever has it; a Validate that panics
// (on a nil pointer, say) is a validation failure, not a crash.
func validate[T any](v T) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the Validate method panicked: %v", r)
		}
	}()
	if val, ok := any(&v).(Validator); ok {
		return val.Validate()
	}
	if val, ok := any(v).(Validator); ok {
		return val.Validate()
	}
	return nil
}

// DecodeEvent decodes env's payload into an Event[T] with Decode.
func DecodeEvent[T any](env storagefirst.Envelope, cfg DecodeConfig) (Event[T], error) {
	data, err := Decode[T](env.Payload, cfg)
	if err != nil {
		return Event[T]{}, fmt.Errorf("envelope %s (%s): %w", env.ID, env.Type, err)
	}
	return Event[T]{Envelope: env, Data: data}, nil
}

// HandlerFor turns a typed function into a storagefirst.Handler. A payload that
// cannot be decoded or validated is a permanent error: it goes to the dead letters
// at once instead of being retried forever. Errors of fn keep their own class.
func HandlerFor[T any](cfg DecodeConfig, fn func(ctx context.Context, ev Event[T]) error) storagefirst.Handler {
	return storagefirst.HandlerFunc(func(ctx context.Context, env storagefirst.Envelope) error {
		ev, err := DecodeEvent[T](env, cfg)
		if err != nil {
			return storagefirst.Permanent(err)
		}
		return fn(ctx, ev)
	})
}
