package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/ingest"
	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
)

type order struct {
	Username string   `json:"username"`
	Items    []string `json:"items,omitempty"`
}

func (o order) Validate() error {
	if o.Username == "" {
		return errors.New("username is required")
	}
	if len(o.Username) > 45 {
		return errors.New("username is longer than 45 characters")
	}
	return nil
}

type door struct {
	q    *sftest.MemoryQueue
	idem *sftest.MemoryIdempotencyStore
	fd   *ingest.FrontDoor[order]
	srv  *httptest.Server
}

func newDoor(t *testing.T, mod func(*ingest.FrontDoorConfig)) *door {
	t.Helper()
	d := &door{q: sftest.NewMemoryQueue(nil), idem: sftest.NewMemoryIdempotencyStore(nil)}
	cfg := ingest.FrontDoorConfig{Sink: d.q, Type: "pizza.order.create", Idempotency: d.idem,
		MetadataHeaders: []string{"traceparent"},
		Location:        func(e storagefirst.Envelope) string { return "/orders/" + e.ID }}
	if mod != nil {
		mod(&cfg)
	}
	fd, err := ingest.NewFrontDoor[order](cfg)
	require.NoError(t, err)
	d.fd = fd
	d.srv = httptest.NewServer(fd)
	t.Cleanup(d.srv.Close)
	return d
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (d *door) post(t *testing.T, body string, headers ...string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, d.srv.URL+"/orders", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{resp.StatusCode, resp.Header, b}
}

func (a answer) problem(t *testing.T) ingest.Problem {
	t.Helper()
	require.Equal(t, ingest.ContentTypeProblem, a.header.Get("Content-Type"), string(a.body))
	var p ingest.Problem
	require.NoError(t, json.Unmarshal(a.body, &p))
	require.Equal(t, a.status, p.Status)
	return p
}

func (a answer) accepted(t *testing.T) ingest.Accepted {
	t.Helper()
	require.Equal(t, http.StatusAccepted, a.status, string(a.body))
	var acc ingest.Accepted
	require.NoError(t, json.Unmarshal(a.body, &acc))
	require.NotEmpty(t, acc.ID)
	return acc
}

func TestFrontDoorPersistsThenAccepts(t *testing.T) {
	t.Parallel()
	d := newDoor(t, nil)
	a := d.post(t, `{"username": "lee"}`, "X-Correlation-Id", "corr-1", "traceparent", "00-abc")
	acc := a.accepted(t)
	require.Equal(t, "corr-1", acc.CorrelationID)
	require.Equal(t, "/orders/"+acc.ID, a.header.Get("Location"))
	require.Equal(t, "corr-1", a.header.Get("X-Correlation-Id"))

	stored := d.q.Envelopes()
	require.Len(t, stored, 1)
	env := stored[0]
	require.Equal(t, acc.ID, env.ID)
	require.Equal(t, "pizza.order.create", env.Type)
	require.Equal(t, "/orders", env.Source)
	require.Equal(t, "corr-1", env.CorrelationID)
	require.Equal(t, map[string]string{"traceparent": "00-abc"}, env.Metadata)
	require.JSONEq(t, `{"username":"lee"}`, string(env.Payload))

	// Without a correlation ID one is made up and returned.
	acc = d.post(t, `{"username":"bob"}`).accepted(t)
	require.NotEmpty(t, acc.CorrelationID)
}

func TestFrontDoorRejectsBadInputAndPersistsNothing(t *testing.T) {
	t.Parallel()
	d := newDoor(t, func(c *ingest.FrontDoorConfig) { c.MaxBodyBytes = 1024 })
	for _, tc := range []struct {
		name        string
		contentType string
		body        string
		headers     []string
		status      int
		problemType string
		detail      string
	}{
		{"malformed JSON", "application/json", `{"username":`, nil, 400, ingest.ProblemInvalidBody, "malformed"},
		{"empty body", "application/json", ``, nil, 400, ingest.ProblemInvalidBody, "empty body"},
		{"not an object", "application/json", `[1,2]`, nil, 400, ingest.ProblemInvalidBody, "malformed"},
		{"trailing data", "application/json", `{"username":"a"} {}`, nil, 400, ingest.ProblemInvalidBody, "after the JSON value"},
		{"unknown field", "application/json", `{"username":"a","admin":true}`, nil, 400, ingest.ProblemInvalidBody, `unknown field "admin"`},
		{"fails validation", "application/json", `{"username":""}`, nil, 400, ingest.ProblemInvalidBody, "username is required"},
		{"wrong type", "application/json", `{"username":42}`, nil, 400, ingest.ProblemInvalidBody, "malformed JSON: username must be a string, not a number"},
		{"not an object, said in JSON's terms", "application/json", `"x"`, nil, 400, ingest.ProblemInvalidBody, "the body must be an object, not a string"},
		{"syntax error with its place", "application/json", `{"username":nope}`, nil, 400, ingest.ProblemInvalidBody, "invalid character 'o' in literal null (expecting 'u') (at byte"},
		{"too large", "application/json", `{"username":"` + strings.Repeat("a", 2000) + `"}`, nil, 413, ingest.ProblemTooLarge, "1024 bytes"},
		{"no content type", "", `{"username":"a"}`, nil, 415, ingest.ProblemUnsupportedMediaType, ""},
		{"text/plain", "text/plain", `{"username":"a"}`, nil, 415, ingest.ProblemUnsupportedMediaType, ""},
		{"key too long", "application/json", `{"username":"a"}`, []string{"Idempotency-Key", strings.Repeat("k", 300)}, 400, ingest.ProblemInvalidBody, "Idempotency-Key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, d.srv.URL+"/orders", strings.NewReader(tc.body))
			require.NoError(t, err)
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			for i := 0; i+1 < len(tc.headers); i += 2 {
				req.Header.Set(tc.headers[i], tc.headers[i+1])
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			a := answer{resp.StatusCode, resp.Header, b}
			require.Equal(t, tc.status, a.status, string(b))
			p := a.problem(t)
			require.Equal(t, tc.problemType, p.Type)
			require.Contains(t, p.Detail, tc.detail)
			require.NotRegexp(t, `storagefirst: |ingest: |json: |Go (struct|value)|ingest_test\.`, p.Detail, "no internals")
		})
	}
	resp, err := http.Get(d.srv.URL + "/orders")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	require.Empty(t, d.q.Envelopes(), "bad input persists nothing")
	// application/*+json is JSON too.
	req, _ := http.NewRequest(http.MethodPut, d.srv.URL+"/orders", strings.NewReader(`{"username":"a"}`))
	req.Header.Set("Content-Type", "application/vnd.pizza+json; charset=utf-8")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
}

func TestFrontDoorAnswers503WhenTheSinkFails(t *testing.T) {
	t.Parallel()
	d := newDoor(t, func(c *ingest.FrontDoorConfig) { c.RetryAfter = 3 * time.Second })
	d.q.FailNextPuts(1, errors.New("database is down"))
	a := d.post(t, `{"username":"lee"}`)
	require.Equal(t, http.StatusServiceUnavailable, a.status)
	require.Equal(t, "3", a.header.Get("Retry-After"))
	require.Equal(t, ingest.ProblemNotPersisted, a.problem(t).Type)
	require.Empty(t, d.q.Envelopes())

	// A partial failure (the sink stored nothing of ours) is no success either.
	d.q.FailPutsWhere(func(storagefirst.Envelope) error { return errors.New("throttled") })
	require.Equal(t, http.StatusServiceUnavailable, d.post(t, `{"username":"lee"}`).status)
	d.q.FailPutsWhere(nil)
	d.post(t, `{"username":"lee"}`).accepted(t)
}

func TestFrontDoorIdempotencyKey(t *testing.T) {
	t.Parallel()
	d := newDoor(t, nil)
	first := d.post(t, `{"username":"lee"}`, "Idempotency-Key", "k1")
	acc := first.accepted(t)
	again := d.post(t, `{ "username" : "lee" }`, "Idempotency-Key", "k1") // white space does not count
	require.Equal(t, acc, again.accepted(t))
	require.Equal(t, "true", again.header.Get(ingest.HeaderIdempotentReplayed))
	require.Equal(t, first.header.Get("Location"), again.header.Get("Location"))
	other := d.post(t, `{"username":"bob"}`, "Idempotency-Key", "k1")
	require.Equal(t, ingest.ProblemKeyReused, other.problem(t).Type)
	stored := d.q.Envelopes()
	require.Len(t, stored, 1, "persisted once")
	require.Equal(t, "k1", stored[0].IdempotencyKey)

	// A failed persist releases the key: the retry persists.
	d.q.FailNextPuts(1, errors.New("down"))
	require.Equal(t, http.StatusServiceUnavailable, d.post(t, `{"username":"amy"}`, "Idempotency-Key", "k2").status)
	d.post(t, `{"username":"amy"}`, "Idempotency-Key", "k2").accepted(t)
	require.Len(t, d.q.Envelopes(), 2)
}

func TestFrontDoorKeyInProgressIs409(t *testing.T) {
	t.Parallel()
	d := newDoor(t, nil)
	d.q.SetPutDelay(time.Hour) // the first persist hangs until its request ends
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, d.srv.URL+"/orders", strings.NewReader(`{"username":"lee"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "slow")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	// Poll until the first request holds the key.
	for {
		if _, err := d.idem.Get(context.Background(), "pizza.order.create", "slow"); err == nil {
			break
		}
		<-time.After(time.Millisecond)
	}
	a := d.post(t, `{"username":"lee"}`, "Idempotency-Key", "slow")
	require.Equal(t, http.StatusConflict, a.status)
	require.Equal(t, ingest.ProblemKeyInProgress, a.problem(t).Type)
	cancel()
	wg.Wait()
}

func TestFrontDoorKeyRequired(t *testing.T) {
	t.Parallel()
	d := newDoor(t, func(c *ingest.FrontDoorConfig) { c.RequireIdempotencyKey = true })
	a := d.post(t, `{"username":"lee"}`)
	require.Equal(t, http.StatusBadRequest, a.status)
	require.Equal(t, ingest.ProblemKeyRequired, a.problem(t).Type)
	d.post(t, `{"username":"lee"}`, "Idempotency-Key", "k").accepted(t)
}

func TestNewFrontDoorReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := ingest.NewFrontDoor[order](ingest.FrontDoorConfig{MaxBodyBytes: 2 << 20, RequireIdempotencyKey: true})
	for _, want := range []string{"Sink is required", "Type is required", "MaxBodyBytes", "needs an Idempotency store"} {
		require.ErrorContains(t, err, want)
	}
}

// FuzzFrontDoor: whatever the body and headers, the front door answers one of its
// documented statuses, persists exactly when it answers 202, and never panics.
func FuzzFrontDoor(f *testing.F) {
	f.Add([]byte(`{"username":"lee"}`), "application/json", "k1")
	f.Add([]byte(`{"username":""}`), "application/json", "")
	f.Add([]byte(`{"username":"lee"}`), "text/plain", "")
	f.Add([]byte("\xff"), "application/problem+json; charset=utf-8", "\x00")
	f.Fuzz(func(t *testing.T, body []byte, contentType, key string) {
		q := sftest.NewMemoryQueue(nil)
		fd, err := ingest.NewFrontDoor[order](ingest.FrontDoorConfig{Sink: q, Type: "t", MaxBodyBytes: 4096,
			Idempotency: sftest.NewMemoryIdempotencyStore(nil)})
		require.NoError(t, err)
		headers := map[string]string{"Content-Type": contentType, "Idempotency-Key": key}
		resp := fd.Accept(context.Background(), ingest.Request{Method: "POST", Path: "/orders",
			Header: func(n string) string { return headers[n] }, Body: body})
		switch resp.Status {
		case http.StatusAccepted:
			require.Len(t, q.Envelopes(), 1)
			// What was sent is what is stored: never bytes replaced by U+FFFD.
			require.True(t, utf8.Valid(q.Envelopes()[0].Payload))
			if !strings.Contains(strings.ToLower(contentType), "charset") {
				require.True(t, utf8.Valid(body), "invalid UTF-8 accepted only under a declared charset")
				require.JSONEq(t, string(body), string(q.Envelopes()[0].Payload))
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
			require.Empty(t, q.Envelopes())
			require.True(t, json.Valid(resp.Body))
		default:
			t.Fatalf("unexpected status %d: %s", resp.Status, resp.Body)
		}
	})
}

// keyedSink is a KeyedSink over a MemoryQueue whose PutKeyed fails with err, or
// stores (without keeping any record) when err is nil.
type keyedSink struct {
	*sftest.MemoryQueue
	mu    sync.Mutex
	err   error
	calls int
}

func (k *keyedSink) PutKeyed(ctx context.Context, p storagefirst.KeyedPut) (storagefirst.KeyedResult, error) {
	k.mu.Lock()
	k.calls++
	err := k.err
	k.mu.Unlock()
	if err != nil {
		return storagefirst.KeyedResult{}, err
	}
	return storagefirst.KeyedResult{Stored: true}, k.Put(ctx, p.Envelope)
}

func (k *keyedSink) fail(err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.err = err
}

func TestFrontDoorOutcomeUnknownIsNotNotStored(t *testing.T) {
	t.Parallel()
	unknown := fmt.Errorf("%w: connection lost during commit", storagefirst.ErrOutcomeUnknown)
	ks := &keyedSink{MemoryQueue: sftest.NewMemoryQueue(nil), err: unknown}
	d := newDoor(t, func(c *ingest.FrontDoorConfig) { c.Sink, c.Idempotency = ks, nil; c.RequireIdempotencyKey = true })
	a := d.post(t, `{"username":"lee"}`, "Idempotency-Key", "k1")
	require.Equal(t, http.StatusServiceUnavailable, a.status)
	require.Equal(t, "1", a.header.Get("Retry-After"))
	p := a.problem(t)
	require.Equal(t, ingest.ProblemOutcomeUnknown, p.Type)
	require.Contains(t, p.Detail, "retry with the same Idempotency-Key")
	ks.mu.Lock()
	require.Equal(t, 1, ks.calls, "a keyed request goes through PutKeyed")
	ks.mu.Unlock()

	// A failure the sink knows stored nothing is "not stored"; a key reused for
	// another body is 422.
	ks.fail(errors.New("database is down"))
	require.Equal(t, ingest.ProblemNotPersisted, d.post(t, `{"username":"lee"}`, "Idempotency-Key", "k1").problem(t).Type)
	ks.fail(fmt.Errorf("%w: scope x", storagefirst.ErrFingerprintMismatch))
	require.Equal(t, ingest.ProblemKeyReused, d.post(t, `{"username":"lee"}`, "Idempotency-Key", "k1").problem(t).Type)
	ks.fail(nil)
	d.post(t, `{"username":"lee"}`, "Idempotency-Key", "k1").accepted(t)

	// Without a key, an unknown outcome is said as such too.
	d2 := newDoor(t, nil)
	d2.q.FailNextPuts(1, unknown)
	a = d2.post(t, `{"username":"lee"}`)
	require.Equal(t, ingest.ProblemOutcomeUnknown, a.problem(t).Type)
	require.Contains(t, a.problem(t).Detail, "Idempotency-Key")
}

// note has no Validate method: only the decoder stands between a bad body and the
// sink.
type note struct {
	Text string `json:"text"`
}

func TestFrontDoorRefusesNullAndAlteredText(t *testing.T) {
	t.Parallel()
	q := sftest.NewMemoryQueue(nil)
	fd, err := ingest.NewFrontDoor[note](ingest.FrontDoorConfig{Sink: q, Type: "note"})
	require.NoError(t, err)
	srv := httptest.NewServer(fd)
	t.Cleanup(srv.Close)
	post := func(contentType string, body []byte) answer {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/notes", strings.NewReader(string(body)))
		require.NoError(t, err)
		req.Header.Set("Content-Type", contentType)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return answer{resp.StatusCode, resp.Header, b}
	}
	for _, tc := range []struct {
		name, contentType string
		body              []byte
		status            int
		detail            string
	}{
		{"null", "application/json", []byte(`null`), 400, "null is not a request"},
		{"null with spaces", "application/json", []byte(" \n null \t"), 400, "null is not a request"},
		{"invalid UTF-8", "application/json", []byte("{\"text\":\"\xff\xfe\"}"), 400, "not valid UTF-8 (byte 9)"},
		{"Latin-1 sent as UTF-8", "application/json; charset=utf-8", []byte("{\"text\":\"caf\xe9\"}"), 400, "not valid UTF-8"},
		{"not US-ASCII", "application/json; charset=us-ascii", []byte("{\"text\":\"caf\xe9\"}"), 400, "not US-ASCII"},
		{"unknown charset", "application/json; charset=utf-16", []byte(`{"text":"a"}`), 415, `unsupported charset "utf-16"`},
	} {
		a := post(tc.contentType, tc.body)
		require.Equal(t, tc.status, a.status, "%s: %s", tc.name, a.body)
		require.Contains(t, a.problem(t).Detail, tc.detail, tc.name)
	}
	require.Empty(t, q.Envelopes(), "nothing stored")

	// Latin-1, declared, is decoded faithfully: é stays é.
	post("application/json; charset=ISO-8859-1", []byte("{\"text\":\"caf\xe9\"}")).accepted(t)
	stored := q.Envelopes()
	require.Len(t, stored, 1)
	var n note
	require.NoError(t, json.Unmarshal(stored[0].Payload, &n))
	require.Equal(t, "café", n.Text)
}
