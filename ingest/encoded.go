package ingest

import (
	"context"
	"encoding/base64"
	"net/http"
)

// AcceptEncoded is Accept for transports that deliver the body as a string,
// base64-encoded when base64Encoded is set (API Gateway, Lambda function URLs):
// it bounds the body by MaxBodyBytes before decoding it, answers 400 problem+json
// for invalid base64, and otherwise calls Accept with r's Body set.
func (f *FrontDoor[T]) AcceptEncoded(ctx context.Context, r Request, body string, base64Encoded bool) Response {
	limit := f.cfg.MaxBodyBytes
	switch {
	case base64Encoded && base64.StdEncoding.DecodedLen(len(body)) > limit+3:
		r.BodyTooLarge = true
	case base64Encoded:
		raw, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			return problemResponse(Problem{Type: ProblemInvalidBody, Status: http.StatusBadRequest,
				Detail: "the body is not valid base64"}, "", f.cfg.CorrelationHeader)
		}
		r.Body = raw
	case len(body) > limit:
		r.BodyTooLarge = true
	default:
		r.Body = []byte(body)
	}
	return f.Accept(ctx, r)
}
