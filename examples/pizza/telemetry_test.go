package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/examples/pizza/shop/sqliteshop"
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

// The shop's own GET /metrics, after one order is created and another dead-lettered,
// serves the queue gauges (the dead letter included), the processed counter by
// action and the put latency of the front door's sink.
func TestShopMetricsAfterCreateAndDeadLetter(t *testing.T) {
	ctx := context.Background()
	backend, err := sqliteshop.OpenSQLite(ctx, filepath.Join(t.TempDir(), "pizza.db"))
	require.NoError(t, err)
	defer backend.Close()
	tel, err := newTelemetry(ctx, "")
	require.NoError(t, err)
	defer func() { _ = tel.shutdown(ctx) }()
	s, err := newShop(backend, tel, "secret", "doomed", slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	workCtx, stopWork := context.WithCancel(ctx)
	workDone := make(chan error, 1)
	go func() { workDone <- s.Run(workCtx) }()
	defer func() { stopWork(); <-workDone }()
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	for _, user := range []string{"ada", "doomed-bob"} {
		res, err := http.Post(srv.URL+"/orders", "application/json", strings.NewReader(`{"username":"`+user+`"}`))
		require.NoError(t, err)
		require.NoError(t, res.Body.Close())
		require.Equal(t, http.StatusAccepted, res.StatusCode)
	}
	scrape := func() string {
		res, err := http.Get(srv.URL + "/metrics")
		if err != nil {
			return ""
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	want := []*regexp.Regexp{
		regexp.MustCompile(`(?m)^storagefirst_queue_envelopes\{[^}]*storagefirst_queue="create-order"[^}]*storagefirst_state="dead"[^}]*\} 1$`),
		regexp.MustCompile(`(?m)^storagefirst_queue_envelopes\{[^}]*storagefirst_queue="create-order"[^}]*storagefirst_state="ready"[^}]*\} 0$`),
		regexp.MustCompile(`(?m)^storagefirst_consumer_processed_total\{[^}]*storagefirst_action="acked"[^}]*storagefirst_queue="create-order"[^}]*\} 1$`),
		regexp.MustCompile(`(?m)^storagefirst_consumer_processed_total\{[^}]*storagefirst_action="dead_lettered"[^}]*storagefirst_queue="create-order"[^}]*\} 1$`),
		regexp.MustCompile(`(?m)^storagefirst_dead_lettered_total\{[^}]*storagefirst_queue="create-order"[^}]*\} 1$`),
		regexp.MustCompile(`(?m)^storagefirst_put_duration_seconds_count\{[^}]*storagefirst_outcome="ok"[^}]*storagefirst_queue="create-order"[^}]*\} 2$`),
	}
	var body string
	deadline := time.Now().Add(30 * time.Second)
	for {
		body = scrape()
		missing := 0
		for _, re := range want {
			if !re.MatchString(body) {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			for _, re := range want {
				require.Regexp(t, re, body)
			}
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline, not synchronising
	}
}
