package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// -traces otlp exports spans over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT, and
// /metrics serves the Prometheus text format.
func TestTelemetryExportsOTLPAndPrometheus(t *testing.T) {
	got := make(chan string, 10)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r.URL.Path + " " + r.Header.Get("Content-Type") + " " + string(b)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)

	tel, err := newTelemetry(context.Background(), "otlp")
	require.NoError(t, err)
	_, span := tel.tracer.Tracer("test").Start(context.Background(), "a-span-for-otlp")
	span.End()
	require.NoError(t, tel.shutdown(context.Background())) // flushes
	select {
	case req := <-got:
		require.True(t, strings.HasPrefix(req, "/v1/traces application/x-protobuf"), req)
		require.Contains(t, req, "a-span-for-otlp")
	default:
		t.Fatal("no spans reached the OTLP collector")
	}

	_, err = newTelemetry(context.Background(), "carrier-pigeon")
	require.ErrorContains(t, err, "stdout or otlp")

	tel, err = newTelemetry(context.Background(), "")
	require.NoError(t, err)
	srv := httptest.NewServer(tel.metrics)
	defer srv.Close()
	res, err := http.Get(srv.URL)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, res.Header.Get("Content-Type"), "text/plain")
}
