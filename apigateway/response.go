package apigateway

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strings"
	"unicode/utf8"
)

// ResponseWriter is the http.ResponseWriter a handler writes to under V1 and V2:
// it keeps the status, the headers as they were when the status was written,
// and the body. It is not safe for concurrent use (neither is a ResponseWriter
// of net/http).
type ResponseWriter struct {
	header  http.Header
	written http.Header
	status  int
	body    bytes.Buffer
	// over is set once a Write would pass MaxResponseBytes.
	over bool
}

// NewResponseWriter returns an empty ResponseWriter.
func NewResponseWriter() *ResponseWriter { return &ResponseWriter{header: http.Header{}} }

// Header is the header map to set before WriteHeader or Write.
func (w *ResponseWriter) Header() http.Header { return w.header }

// WriteHeader records the status and the headers; later calls are ignored, as
// net/http's are.
func (w *ResponseWriter) WriteHeader(status int) {
	if w.status != 0 {
		return
	}
	w.status = status
	w.written = w.header.Clone()
}

// Write appends to the body, writing the status 200 first if none was. Past
// MaxResponseBytes it drops the body and fails with ErrResponseTooLarge (V1
// and V2 then answer 502).
func (w *ResponseWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		if w.header.Get("Content-Type") == "" {
			w.header.Set("Content-Type", http.DetectContentType(b))
		}
		w.WriteHeader(http.StatusOK)
	}
	if w.over || w.body.Len()+len(b) > MaxResponseBytes {
		w.over = true
		w.body = bytes.Buffer{}
		return 0, ErrResponseTooLarge
	}
	return w.body.Write(b)
}

// Status is the status written (200 if the handler wrote none).
func (w *ResponseWriter) Status() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// Result is the written headers (those at WriteHeader; all of them if the
// handler wrote nothing).
func (w *ResponseWriter) Result() http.Header {
	if w.written == nil {
		return w.header.Clone()
	}
	return w.written
}

// Body is the body written, and whether it is base64-encoded (when it is not
// valid UTF-8, which API Gateway cannot carry as a string).
func (w *ResponseWriter) Body() (string, bool) {
	if utf8.Valid(w.body.Bytes()) {
		return w.body.String(), false
	}
	return base64.StdEncoding.EncodeToString(w.body.Bytes()), true
}

// first is h with each header's first value (V1's headers; multiValueHeaders
// carries them all, and API Gateway keeps those).
func first(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		if len(vs) > 0 {
			out[k] = vs[0]
		}
	}
	return out
}

// joined is h with each header's values comma-joined, without Set-Cookie (V2
// sends cookies apart).
func joined(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		if len(vs) == 0 || k == "Set-Cookie" {
			continue
		}
		out[k] = strings.Join(vs, ", ")
	}
	return out
}
