package storagefirst

import (
	"bytes"
	"encoding/json"
)

// ParseEnvelope reports whether data is an envelope as storagefirst-go writes it
// (the JSON of Envelope, with an id, a type and an accepted_at, and no
// other fields), and returns it. Adapters use it to tell envelopes written by the
// sinks from raw records, such as an API Gateway direct integration's request body.
// It never panics.
func ParseEnvelope(data []byte) (Envelope, bool) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return Envelope{}, false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var env Envelope
	if err := dec.Decode(&env); err != nil || dec.More() {
		return Envelope{}, false
	}
	if env.ID == "" || env.Type == "" || env.AcceptedAt.IsZero() || env.Validate() != nil {
		return Envelope{}, false
	}
	if err := env.Normalize(); err != nil {
		return Envelope{}, false
	}
	return env, true
}
