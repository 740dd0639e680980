package problem

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
)

// ContentType is the media type of problem details.
const ContentType = "application/problem+json"

// TypePrefix starts the type URIs of this module's problems, e.g.
// TypePrefix+"invalid-body".
const TypePrefix = "https://github.com/storagefirst/storagefirst-go/problems/"

// TypeBlank is the type of a problem that says no more than its status.
const TypeBlank = "about:blank"

// Details is an RFC 9457 problem details object. Its JSON has the members type,
// title, status, detail and instance (detail and instance only when set), then
// the Extensions in key order.
type Details struct {
	// Type is a URI naming the kind of problem. Default TypeBlank.
	Type string
	// Title is a short summary of the type. Default: the status text.
	Title string
	// Status is the HTTP status code.
	Status int
	// Detail says, in the client's terms, what went wrong with this request.
	Detail string
	// Instance identifies this occurrence: in this module, the request's
	// correlation ID (the X-Correlation-Id header of the answer).
	Instance string
	// Extensions are further members, e.g. "error" (a workflow's error name).
	// A key of a standard member is ignored.
	Extensions map[string]any
}

// New returns the Details of a problem of type typ (a TypePrefix URI or
// TypeBlank) with status and detail.
func New(status int, typ, detail string) Details {
	return Details{Type: typ, Status: status, Detail: detail}
}

// standard are the member names Details owns.
var standard = map[string]bool{"type": true, "title": true, "status": true, "detail": true, "instance": true}

// MarshalJSON encodes d, with the defaults of Type and Title filled in.
func (d Details) MarshalJSON() ([]byte, error) {
	if d.Type == "" {
		d.Type = TypeBlank
	}
	if d.Title == "" {
		d.Title = http.StatusText(d.Status)
	}
	var b bytes.Buffer
	b.WriteByte('{')
	member := func(k string, v any) error {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, err := json.Marshal(v)
		if err != nil {
			return err
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
		return nil
	}
	_ = member("type", d.Type)
	_ = member("title", d.Title)
	_ = member("status", d.Status)
	if d.Detail != "" {
		_ = member("detail", d.Detail)
	}
	if d.Instance != "" {
		_ = member("instance", d.Instance)
	}
	keys := make([]string, 0, len(d.Extensions))
	for k := range d.Extensions {
		if !standard[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := member(k, d.Extensions[k]); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON decodes a problem details object; members other than the
// standard five go to Extensions.
func (d *Details) UnmarshalJSON(data []byte) error {
	var std struct {
		Type     string `json:"type"`
		Title    string `json:"title"`
		Status   int    `json:"status"`
		Detail   string `json:"detail"`
		Instance string `json:"instance"`
	}
	if err := json.Unmarshal(data, &std); err != nil {
		return err
	}
	var all map[string]any
	if err := json.Unmarshal(data, &all); err != nil {
		return err
	}
	*d = Details{Type: std.Type, Title: std.Title, Status: std.Status, Detail: std.Detail, Instance: std.Instance}
	for k, v := range all {
		if !standard[k] {
			if d.Extensions == nil {
				d.Extensions = map[string]any{}
			}
			d.Extensions[k] = v
		}
	}
	return nil
}

// Body is d's JSON encoding. An extension that does not encode is left out.
func (d Details) Body() []byte {
	b, err := d.MarshalJSON()
	if err != nil {
		d.Extensions = nil
		b, _ = d.MarshalJSON() // strings and an int always encode
	}
	return b
}

// Header is the header of an answer carrying d: its Content-Type and
// X-Content-Type-Options: nosniff, plus
// correlation (when both are set) as the correlation ID header.
func Header(correlationHeader, correlationID string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	if correlationHeader != "" && correlationID != "" {
		h.Set(correlationHeader, correlationID)
	}
	return h
}

// Write answers d on w: Content-Type application/problem+json (with
// X-Content-Type-Options: nosniff), d.Status, and d's JSON. Headers already
// set on w (Allow, Retry-After, a correlation ID) are kept.
func Write(w http.ResponseWriter, d Details) {
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Del("Content-Length")
	w.WriteHeader(d.Status)
	_, _ = w.Write(d.Body())
}
