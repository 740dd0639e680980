package apigateway

import (
	"errors"
	"log/slog"
	"net/http"
	"unicode/utf8"

	"github.com/storagefirst/storagefirst-go/problem"
)

// Response size limits of V1 and V2.
const (
	// LambdaResponseLimit is the largest payload a synchronously invoked Lambda
	// function can return: 6 MB (6,291,456 bytes), the JSON response envelope
	// included.
	LambdaResponseLimit = 6 << 20
	// MaxResponseBytes bounds the body a handler may write under V1 and V2:
	// 4 MiB, whose base64 form (5,592,408 bytes) leaves room for the headers
	// and the JSON envelope within LambdaResponseLimit. A larger body, or one
	// whose JSON encoding would pass LambdaResponseLimit, is answered 502
	// problem+json (type TypeResponseTooLarge) and logged.
	MaxResponseBytes = 4 << 20
	// TypeResponseTooLarge is the problem type of the 502 answered for a
	// response Lambda could not return.
	TypeResponseTooLarge = problem.TypePrefix + "response-too-large"
)

// ErrResponseTooLarge is returned by ResponseWriter.Write once the body would
// pass MaxResponseBytes; the body written so far is dropped.
var ErrResponseTooLarge = errors.New("apigateway: the response body is larger than MaxResponseBytes")

// jsonStringLen is an upper bound of the length of s encoded as a JSON string
// by encoding/json (HTML-escaping included).
func jsonStringLen(s string) int {
	n := 2
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c < utf8.RuneSelf:
			switch {
			case c < 0x20, c == '<', c == '>', c == '&':
				n += 6
			case c == '"', c == '\\':
				n += 2
			default:
				n++
			}
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
				n += 6
			} else {
				n += size
			}
			i += size
		}
	}
	return n
}

// encodedSize is an upper bound of the JSON size of a response with header h
// (counted twice: V1 sends headers and multiValueHeaders) and body.
func encodedSize(h http.Header, body string) int {
	n := 256 + jsonStringLen(body)
	for k, vs := range h {
		for _, v := range vs {
			n += 2 * (jsonStringLen(k) + jsonStringLen(v) + 4)
		}
	}
	return n
}

// HeaderCorrelationID is the header whose correlation ID the adapter's own
// answers (400 for a bad event, 502 for a response too large) carry: the
// handler's answer's, else the request's.
const HeaderCorrelationID = "X-Correlation-Id"

// tooLarge replaces the handler's answer (written to h) for a response Lambda
// cannot return, logged with the correlation ID when there is one.
func tooLarge(r *http.Request, h http.Header, size int) *ResponseWriter {
	corr := h.Get(HeaderCorrelationID)
	if corr == "" {
		corr = r.Header.Get(HeaderCorrelationID)
	}
	slog.Default().ErrorContext(r.Context(), "apigateway: the response is too large for Lambda; answered 502",
		"method", r.Method, "path", r.URL.Path, "correlation_id", corr, "size_at_least", size,
		"max_response_bytes", MaxResponseBytes)
	w := NewResponseWriter()
	if corr != "" {
		w.Header().Set(HeaderCorrelationID, corr)
	}
	problem.Write(w, problem.Details{Type: TypeResponseTooLarge, Status: http.StatusBadGateway,
		Detail: "the answer is larger than the gateway can return", Instance: corr})
	return w
}
