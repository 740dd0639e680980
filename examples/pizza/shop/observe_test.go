package shop_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/storagefirst/storagefirst-go/console"
	"github.com/storagefirst/storagefirst-go/examples/pizza/shop"
	"github.com/storagefirst/storagefirst-go/examples/pizza/shop/operator"
	"github.com/storagefirst/storagefirst-go/storagefirst/sfotel"
)

// One create is one connected trace: the HTTP request's span (whose traceparent
// the front door stores in the envelope's metadata) is the parent of the
// create-order handler's span, across the store.
func TestOneCreateIsOneTrace(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	reader := sdkmetric.NewManualReader()
	inst, err := sfotel.New(sfotel.Config{TracerProvider: tp,
		MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))})
	require.NoError(t, err)
	b := openSQLiteShop(t)
	cfg, err := operator.Configure(shop.Config{Backend: b, Logger: slog.New(slog.DiscardHandler)},
		console.Auth{BearerToken: adminToken}, inst)
	require.NoError(t, err)
	s, err := shop.New(cfg)
	require.NoError(t, err)
	c := serve(t, s, b)

	id := c.create(`{"username":"tracy"}`)
	c.waitStatus(id, shop.StatusCreated)

	byName := map[string]tracetest.SpanStub{}
	require.Eventually(t, func() bool {
		for _, sp := range spans.GetSpans() {
			if sp.Name == "POST /orders" || attrOf(sp, sfotel.AttrMessagingMessageID) == id {
				byName[sp.Name] = sp
			}
		}
		return len(byName) == 3
	}, 15*time.Second, 5*time.Millisecond, "spans: %v", byName)
	server, send, process := byName["POST /orders"], byName["send create-order"], byName["process create-order"]
	require.Equal(t, trace.SpanKindServer, server.SpanKind)
	require.Equal(t, trace.SpanKindProducer, send.SpanKind)
	require.Equal(t, trace.SpanKindConsumer, process.SpanKind)
	require.Equal(t, server.SpanContext.TraceID(), process.SpanContext.TraceID())
	// The request's span, then the put into the store (the front door's keyed sink,
	// instrumented), then the consumer's continued from the stored envelope.
	require.Equal(t, server.SpanContext.SpanID(), send.Parent.SpanID())
	require.Equal(t, send.SpanContext.SpanID(), process.Parent.SpanID())
	require.True(t, process.Parent.IsRemote(), "continued from the stored envelope")
	require.Equal(t, "pizza.order.create", attrOf(process, sfotel.AttrEnvelopeType))

	// The idempotency outcome of the create was counted (new).
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	found := false
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == sfotel.MetricIdempotency {
				for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
					if v, _ := dp.Attributes.Value(sfotel.AttrOutcome); v.AsString() == sfotel.IdempotencyNew {
						found = dp.Value >= 1
					}
				}
			}
		}
	}
	require.True(t, found, "idempotency outcome new counted")
}

func attrOf(s tracetest.SpanStub, key attribute.Key) string {
	for _, a := range s.Attributes {
		if a.Key == key {
			return a.Value.AsString()
		}
	}
	return ""
}

func TestAdminNeedsCredentials(t *testing.T) {
	for name, auth := range map[string]console.Auth{"configured": {BearerToken: adminToken}, "none": {}} {
		t.Run(name, func(t *testing.T) {
			b := openSQLiteShop(t)
			t.Cleanup(b.Close)
			cfg, err := operator.Configure(shop.Config{Backend: b, Logger: slog.New(slog.DiscardHandler)}, auth, nil)
			require.NoError(t, err)
			s, err := shop.New(cfg)
			require.NoError(t, err)
			srv := httptest.NewServer(s.Handler())
			t.Cleanup(srv.Close)
			for _, r := range []struct{ method, path string }{{"GET", "/admin/stats"}, {"POST", "/admin/dlq/replay"},
				{"GET", "/console/"}, {"GET", "/console/dead"}} {
				req, err := http.NewRequest(r.method, srv.URL+r.path, nil)
				require.NoError(t, err)
				req.Header.Set("Authorization", "Bearer wrong")
				res, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				res.Body.Close()
				require.Equal(t, http.StatusUnauthorized, res.StatusCode, r.path)
			}
			if name == "configured" {
				req, err := http.NewRequest("GET", srv.URL+"/console/", nil)
				require.NoError(t, err)
				req.Header.Set("Authorization", "Bearer "+adminToken)
				res, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				res.Body.Close()
				require.Equal(t, http.StatusOK, res.StatusCode)
			}
		})
	}
}

// On Postgres the shop measures its store's group commits.
func TestShopObservesGroupCommitsOnPostgres(t *testing.T) {
	b := openPostgresShop(t)
	t.Cleanup(b.Close)
	reader := sdkmetric.NewManualReader()
	inst, err := sfotel.New(sfotel.Config{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))})
	require.NoError(t, err)
	cfg, err := operator.Configure(shop.Config{Backend: b, Logger: slog.New(slog.DiscardHandler)},
		console.Auth{BearerToken: adminToken}, inst)
	require.NoError(t, err)
	_, err = shop.New(cfg)
	require.NoError(t, err)
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	found := map[string]bool{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, dp := range sum.DataPoints {
					if v, _ := dp.Attributes.Value(sfotel.AttrStore); v.AsString() == "postgres" {
						found[m.Name] = true
					}
				}
			}
		}
	}
	require.Equal(t, map[string]bool{sfotel.MetricGroupCommitBatches: true, sfotel.MetricGroupCommitEnvelopes: true}, found)
}
