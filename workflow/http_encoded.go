package workflow

import (
	"encoding/base64"
	"fmt"
	"net/http"
)

// Response is an HTTPHandler's answer outside net/http: its status, headers and
// body.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// ServeEncoded is ServeHTTP for transports that deliver the body as a string,
// base64-encoded when base64Encoded is set (API Gateway, Lambda function URLs). r
// carries the method, path, headers, query and path values given to
// HTTPConfig.Input; its Body is ignored. It answers 400 problem+json for invalid
// base64 and 413 for a body over MaxBodyBytes. The subpackage apigateway uses it.
func (h *HTTPHandler) ServeEncoded(r *http.Request, body string, base64Encoded bool) Response {
	var a answer
	if base64Encoded {
		if b, err := base64.StdEncoding.DecodeString(body); err == nil {
			body = string(b)
		} else {
			a = problemAnswer(http.StatusBadRequest, "invalid-body", "the body is not valid base64", "", "")
		}
	}
	if a.status == 0 {
		if len(body) > h.cfg.MaxBodyBytes {
			a = problemAnswer(http.StatusRequestEntityTooLarge, "too-large", fmt.Sprintf("the body is larger than %d bytes", h.cfg.MaxBodyBytes), "", "")
		} else {
			a = h.run(r.Context(), r, []byte(body), r.Header.Get("Content-Type"))
		}
	}
	return Response{Status: a.status, Header: a.header, Body: a.body}
}
