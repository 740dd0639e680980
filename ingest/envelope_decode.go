package ingest

import (
	"bytes"
	"encoding/json"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// ParseEnvelope reports whether data is an envelope as storagefirst-go writes it
// (the JSON of storagefirst.Envelope, with an id, a type and an accepted_at, and no
// other fields), and returns it. Adapters use it to tell envelopes written by the
// sinks from raw records, such as an API Gateway direct integration's request body.
// It never panics.
func ParseEnvelope(data []byte) (storagefirst.Envelope, bool) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return storagefirst.Envelope{}, false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var env storagefirst.Envelope
	if err := dec.Decode(&env); err != nil || dec.More() {
		return storagefirst.Envelope{}, false
	}
	if env.ID == "" || env.Type == "" || env.AcceptedAt.IsZero() || env.Validate() != nil {
		return storagefirst.Envelope{}, false
	}
	if err := env.Normalize(); err != nil {
		return storagefirst.Envelope{}, false
	}
	return env, true
}
