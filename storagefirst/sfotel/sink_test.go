package sfotel_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/storagefirst/storagefirst-go/ingest"
	"github.com/storagefirst/storagefirst-go/storagefirst/sfotel"
)

// A front door over an instrumented pgstore or sqlitestore queue keeps its
// Idempotency-Key deduplication: the wrapper is still an ingest.KeyedSink, and two
// POSTs with one key store one envelope, carrying the put span's trace context.
func TestSinkKeepsKeyedPut(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			q := open(t)
			spans := tracetest.NewInMemoryExporter()
			inst, err := sfotel.New(sfotel.Config{TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))})
			require.NoError(t, err)
			sink := inst.Sink("orders", q)

			fd, err := ingest.NewFrontDoor[order](ingest.FrontDoorConfig{Sink: sink, Type: "order.create",
				Logger: slog.New(slog.DiscardHandler)})
			require.NoError(t, err)
			for range 2 {
				req := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(`{"username":"ada"}`))
				req.Header.Set(ingest.HeaderIdempotencyKey, "key-1")
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				fd.ServeHTTP(rec, req)
				require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			st, err := q.Stats(ctx)
			require.NoError(t, err)
			require.EqualValues(t, 1, st.Ready, "two POSTs with one Idempotency-Key stored %d envelopes", st.Ready)

			ds, err := q.Claim(ctx, 10, time.Minute)
			require.NoError(t, err)
			require.Len(t, ds, 1)
			require.NotEmpty(t, ds[0].Envelope.Metadata["traceparent"], "the keyed put injects the trace context")
			var traces []string
			for _, s := range spans.GetSpans() {
				if s.Name == "send orders" {
					traces = append(traces, s.SpanContext.TraceID().String())
				}
			}
			require.Len(t, traces, 2, "each keyed put has its span")
			require.Contains(t, ds[0].Envelope.Metadata["traceparent"], traces[0], "the first request's trace is stored")
			_, keyed := sink.(ingest.KeyedSink)
			require.True(t, keyed, "the wrapper hides PutKeyed")
		})
	}
}
