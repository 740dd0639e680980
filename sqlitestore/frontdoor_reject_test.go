package sqlitestore_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/ingest"
)

// TestFrontDoorAnswers422WhenTheDatabaseRejectsTheRequest: a request the database
// refuses for what it holds (a trigger Validate cannot know of) is answered 422
// problem+json, not 503 "retry it", with or without an Idempotency-Key.
func TestFrontDoorAnswers422WhenTheDatabaseRejectsTheRequest(t *testing.T) {
	t.Parallel()
	st := fresh(t)
	_, err := st.DB().Exec(`CREATE TRIGGER rejected_type BEFORE INSERT ON envelopes
		WHEN NEW.type = 'order.create' BEGIN SELECT RAISE(ABORT, 'rejected type'); END`)
	require.NoError(t, err)
	q, err := st.Queue("orders")
	require.NoError(t, err)
	fd, err := ingest.NewFrontDoor[struct {
		Name string `json:"name"`
	}](ingest.FrontDoorConfig{Sink: q, Type: "order.create", Idempotency: st.Idempotency(), RetryAfter: time.Second})
	require.NoError(t, err)
	for _, key := range []string{"", "k1"} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		if key != "" {
			h.Set(ingest.HeaderIdempotencyKey, key)
		}
		resp := fd.Accept(ctx, ingest.Request{Method: http.MethodPost, Path: "/orders", Header: h.Get, Body: []byte(`{"name":"lee"}`)})
		cancel()
		require.Equal(t, http.StatusUnprocessableEntity, resp.Status, "key %q: %s", key, resp.Body)
		var p ingest.Problem
		require.NoError(t, json.Unmarshal(resp.Body, &p))
		require.Equal(t, ingest.ProblemInvalidBody, p.Type)
	}
}
