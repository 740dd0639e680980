package ingest

import (
	"errors"
	"io"
	"net/http"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// ServeHTTP accepts a POST or PUT with a JSON body, persists it, and answers 202
// only once it is durable; see Accept.
func (f *FrontDoor[T]) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	limit := int64(f.cfg.MaxBodyBytes)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	req := Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Get, Body: body}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		req.BodyTooLarge = true
	case err != nil:
		// The client went away or sent a broken body (e.g. invalid base64
		// through an API Gateway adapter): nothing to persist.
		corr := storagefirst.CorrelationID(r.Header.Get(f.cfg.CorrelationHeader))
		writeResponse(w, problemResponse(Problem{Type: ProblemInvalidBody, Status: http.StatusBadRequest,
			Detail: "the body could not be read", Instance: corr}, corr, f.cfg.CorrelationHeader))
		return
	}
	writeResponse(w, f.Accept(r.Context(), req))
}

func writeResponse(w http.ResponseWriter, resp Response) {
	for k, vs := range resp.Header {
		for _, v := range vs {
			if v != "" {
				w.Header().Add(k, v)
			}
		}
	}
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
}
