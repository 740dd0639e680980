package pgstore_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/ingest"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// TestFrontDoorAnswers422WhenTheDatabaseRejectsTheRequest: a request the database
// refuses for what it holds (a constraint Validate cannot know of) is answered 422
// problem+json, not 503 "retry it", with or without an Idempotency-Key, and the key
// is left free.
func TestFrontDoorAnswers422WhenTheDatabaseRejectsTheRequest(t *testing.T) {
	t.Parallel()
	b := setup(t)
	q := b.queue(t, "orders")
	rejectType(t, q, "order.create")
	fd, err := ingest.NewFrontDoor[orderBody](ingest.FrontDoorConfig{Sink: q, Type: "order.create",
		Idempotency: b.store.Idempotency(), RetryAfter: time.Second})
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
		require.Equal(t, ingest.ProblemInvalidBody, problemType(t, resp))
		require.Empty(t, resp.Header.Get("Retry-After"))
	}
	_, err = b.store.Idempotency().Get(testCtx(t), "order.create", "k1")
	require.ErrorIs(t, err, storagefirst.ErrNotFound, "the refused request left no record of its key")
}
