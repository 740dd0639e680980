package ingest_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/ingest"
)

type brokenBody struct{}

func (brokenBody) Read([]byte) (int, error) { return 0, errors.New("connection reset") }
func (brokenBody) Close() error             { return nil }

// A body that cannot be read answers 400 with the correlation ID: the
// client's when it sent one, a generated one otherwise.
func TestUnreadableBodyCarriesTheCorrelationID(t *testing.T) {
	t.Parallel()
	d := newDoor(t, nil)
	for _, client := range []string{"corr-broken", ""} {
		req := httptest.NewRequest(http.MethodPost, "/orders", brokenBody{})
		req.Header.Set("Content-Type", "application/json")
		if client != "" {
			req.Header.Set(ingest.HeaderCorrelationIDDefault, client)
		}
		rec := httptest.NewRecorder()
		d.fd.ServeHTTP(rec, req)
		require.Equal(t, http.StatusBadRequest, rec.Code)
		got := rec.Header().Get(ingest.HeaderCorrelationIDDefault)
		require.NotEmpty(t, got)
		if client != "" {
			require.Equal(t, client, got)
		}
		var p ingest.Problem
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
		require.Equal(t, got, p.Instance)
	}
	require.Empty(t, d.q.Envelopes())
}
