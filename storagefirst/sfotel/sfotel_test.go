package sfotel_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/storagefirst/storagefirst-go/ingest"
	"github.com/storagefirst/storagefirst-go/internal/pgtest"
	"github.com/storagefirst/storagefirst-go/pgstore"
	"github.com/storagefirst/storagefirst-go/sqlitestore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sfotel"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type order struct {
	Username string `json:"username"`
}

// queue is what the test needs of a store's queue.
type queue interface {
	storagefirst.Queue
	storagefirst.StatsReporter
}

func backends(t *testing.T) map[string]func(t *testing.T) queue {
	return map[string]func(t *testing.T) queue{
		"sqlite": func(t *testing.T) queue {
			s, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "db"), sqlitestore.Config{})
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			q, err := s.Queue("orders")
			require.NoError(t, err)
			return q
		},
		"postgres": func(t *testing.T) queue {
			q, err := newPGStore(t).Queue("orders")
			require.NoError(t, err)
			return q
		},
	}
}

type rig struct {
	spans  *tracetest.InMemoryExporter
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	inst   *sfotel.Instrumentation
	srv    *httptest.Server
	q      queue
}

// newPGStore returns a migrated pgstore in a fresh schema, closed when t ends.
func newPGStore(t *testing.T) *pgstore.Store {
	t.Helper()
	url, schema := pgtest.NewSchema(t)
	pool, err := pgxpool.New(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	s, err := pgstore.New(pool, pgstore.Config{Schema: schema, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = s.Migrate(ctx)
	require.NoError(t, err)
	return s
}

// newRig serves POST /orders: an instrumented front door storing into q, and runs
// an instrumented consumer of q with handler h until the test ends.
func newRig(t *testing.T, q queue, h storagefirst.HandlerFunc) *rig {
	r := &rig{spans: tracetest.NewInMemoryExporter(), reader: sdkmetric.NewManualReader(), q: q}
	r.tp = sdktrace.NewTracerProvider(sdktrace.WithSyncer(r.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r.reader))
	var err error
	r.inst, err = sfotel.New(sfotel.Config{TracerProvider: r.tp, MeterProvider: mp})
	require.NoError(t, err)
	_, err = r.inst.ObserveQueues(map[string]storagefirst.StatsReporter{"orders": q})
	require.NoError(t, err)

	fd, err := ingest.NewFrontDoor[order](ingest.FrontDoorConfig{Sink: r.inst.Sink("orders", q), Type: "order.create",
		MetadataHeaders: r.inst.MetadataHeaders(), Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("POST /orders", fd)
	r.srv = httptest.NewServer(r.inst.HTTP(mux))
	t.Cleanup(r.srv.Close)

	c, err := storagefirst.NewConsumer(storagefirst.ConsumerConfig{Queue: q,
		Handler: storagefirst.Chain(h, r.inst.Middleware("orders")), Workers: 2, PollInterval: 10 * time.Millisecond,
		Retry:       storagefirst.RetryPolicy{NoRetries: true},
		OnProcessed: r.inst.OnProcessed("orders", nil), Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

func (r *rig) post(t *testing.T, body string) *http.Response {
	t.Helper()
	res, err := http.Post(r.srv.URL+"/orders", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	return res
}

// waitSpan polls, with a deadline, until a span with the name exists.
func (r *rig) waitSpan(t *testing.T, name string) tracetest.SpanStub {
	t.Helper()
	var found tracetest.SpanStub
	require.Eventually(t, func() bool {
		for _, s := range r.spans.GetSpans() {
			if s.Name == name {
				found = s
				return true
			}
		}
		return false
	}, 15*time.Second, 5*time.Millisecond, "no span named %s", name)
	return found
}

func attr(s tracetest.SpanStub, key attribute.Key) attribute.Value {
	for _, a := range s.Attributes {
		if a.Key == key {
			return a.Value
		}
	}
	return attribute.Value{}
}

func TestOneCreateIsOneConnectedTrace(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			var handlerSpan trace.SpanContext
			handled := make(chan struct{}, 1)
			r := newRig(t, open(t), func(ctx context.Context, env storagefirst.Envelope) error {
				handlerSpan = trace.SpanContextFromContext(ctx)
				handled <- struct{}{}
				return nil
			})
			req, err := http.NewRequest(http.MethodPost, r.srv.URL+"/orders", strings.NewReader(`{"username":"ada"}`))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Correlation-Id", "corr-1")
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			require.NoError(t, res.Body.Close())
			require.Equal(t, http.StatusAccepted, res.StatusCode)
			select {
			case <-handled:
			case <-time.After(15 * time.Second):
				t.Fatal("the handler did not run")
			}

			server := r.waitSpan(t, "POST /orders")
			send := r.waitSpan(t, "send orders")
			process := r.waitSpan(t, "process orders")
			require.Equal(t, trace.SpanKindServer, server.SpanKind)
			require.Equal(t, trace.SpanKindProducer, send.SpanKind)
			require.Equal(t, trace.SpanKindConsumer, process.SpanKind)

			// One trace: server -> send -> process -> the handler's context.
			tid := server.SpanContext.TraceID()
			require.Equal(t, tid, send.SpanContext.TraceID())
			require.Equal(t, tid, process.SpanContext.TraceID())
			require.Equal(t, server.SpanContext.SpanID(), send.Parent.SpanID())
			require.Equal(t, send.SpanContext.SpanID(), process.Parent.SpanID())
			require.True(t, process.Parent.IsRemote(), "the consumer continues the trace stored in the envelope")
			require.Len(t, process.Links, 1)
			require.Equal(t, process.SpanContext.SpanID(), handlerSpan.SpanID())

			id := attr(process, sfotel.AttrMessagingMessageID).AsString()
			require.NotEmpty(t, id)
			require.Equal(t, id, attr(send, sfotel.AttrMessagingMessageID).AsString())
			require.Equal(t, "order.create", attr(process, sfotel.AttrEnvelopeType).AsString())
			require.Equal(t, "corr-1", attr(process, sfotel.AttrMessagingConversationID).AsString())
			require.Equal(t, int64(1), attr(process, sfotel.AttrAttempt).AsInt64())
			require.Equal(t, "process", attr(process, sfotel.AttrMessagingOperationType).AsString())
			require.Equal(t, "orders", attr(process, sfotel.AttrMessagingDestination).AsString())

			// Processed counts once the consumer answered (OnProcessed runs after the ack).
			require.Eventually(t, func() bool {
				return sumInt(t, r.reader, sfotel.MetricProcessed, sfotel.AttrAction.String("acked")) == 1
			}, 15*time.Second, 5*time.Millisecond)
			require.Equal(t, int64(1), histCount(t, r.reader, sfotel.MetricPutDuration))
			require.Equal(t, int64(1), histCount(t, r.reader, sfotel.MetricPutBatchSize))
			require.Equal(t, int64(1), histCount(t, r.reader, sfotel.MetricHandlerDuration))
		})
	}
}

func TestDeadLetterIsAnEventOnTheTraceAndCounted(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, open(t), func(ctx context.Context, env storagefirst.Envelope) error {
				return storagefirst.Permanent(storagefirst.ErrInvalidEnvelope)
			})
			res := r.post(t, `{"username":"bob"}`)
			require.Equal(t, http.StatusAccepted, res.StatusCode)
			server := r.waitSpan(t, "POST /orders")
			settle := r.waitSpan(t, "settle orders")
			require.Equal(t, server.SpanContext.TraceID(), settle.SpanContext.TraceID())
			require.Len(t, settle.Events, 1)
			require.Equal(t, string(storagefirst.ActionDeadLettered), settle.Events[0].Name)

			require.Eventually(t, func() bool {
				return sumInt(t, r.reader, sfotel.MetricDeadLettered) == 1 &&
					sumInt(t, r.reader, sfotel.MetricProcessed, sfotel.AttrAction.String("dead_lettered")) == 1
			}, 15*time.Second, 5*time.Millisecond)
			// The observable gauge reads the queue's stats at collection.
			require.Equal(t, int64(1), gauge(t, r.reader, sfotel.MetricQueueEnvelopes, sfotel.AttrState.String("dead")))
			require.Equal(t, int64(0), gauge(t, r.reader, sfotel.MetricQueueEnvelopes, sfotel.AttrState.String("ready")))

			// A replay continues the same trace, with a "replayed" event.
			dls, err := r.q.(storagefirst.DeadLetters).ListDead(context.Background(), storagefirst.DeadLetterFilter{})
			require.NoError(t, err)
			require.Len(t, dls, 1)
			require.NoError(t, r.q.(storagefirst.DeadLetters).Requeue(context.Background(), dls[0].Envelope.ID))
			require.Eventually(t, func() bool {
				for _, s := range r.spans.GetSpans() {
					if s.Name == "process orders" && len(s.Events) > 0 && s.Events[0].Name == "replayed" {
						return s.SpanContext.TraceID() == server.SpanContext.TraceID()
					}
				}
				return false
			}, 15*time.Second, 5*time.Millisecond, "no replayed delivery on the trace")
		})
	}
}

func TestLogHandlerAddsTraceAndEnvelopeIDs(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(sfotel.LogHandler(slog.NewTextHandler(&buf, nil)))
	tp := sdktrace.NewTracerProvider()
	inst, err := sfotel.New(sfotel.Config{TracerProvider: tp})
	require.NoError(t, err)
	env, err := storagefirst.NewEnvelope("t", []byte(`{}`))
	require.NoError(t, err)
	env.CorrelationID, env.Attempt = "c-9", 2
	var traceID string
	h := storagefirst.Chain(storagefirst.HandlerFunc(func(ctx context.Context, e storagefirst.Envelope) error {
		traceID = trace.SpanContextFromContext(ctx).TraceID().String()
		logger.InfoContext(ctx, "inside")
		return nil
	}), inst.Middleware("q"))
	require.NoError(t, h.Handle(context.Background(), env))
	out := buf.String()
	require.Contains(t, out, "trace_id="+traceID)
	require.Contains(t, out, "envelope_id="+env.ID)
	require.Contains(t, out, "correlation_id=c-9")
	require.Contains(t, out, "attempt=2")
	require.Contains(t, out, "span_id=")
}

func TestIdempotencyOutcomesAreCounted(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	inst, err := sfotel.New(sfotel.Config{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))})
	require.NoError(t, err)
	s, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "db"), sqlitestore.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	store := inst.Idempotency(s.Idempotency())
	ctx := context.Background()
	res, err := store.Begin(ctx, "s", "k", "f1", time.Minute)
	require.NoError(t, err)
	require.True(t, res.Acquired)
	_, err = store.Begin(ctx, "s", "k", "f1", time.Minute)
	require.ErrorIs(t, err, storagefirst.ErrInProgress)
	_, err = store.Begin(ctx, "s", "k", "f2", time.Minute)
	require.ErrorIs(t, err, storagefirst.ErrFingerprintMismatch)
	require.NoError(t, store.Complete(ctx, res.Claim, storagefirst.Outcome{}, time.Hour))
	res, err = store.Begin(ctx, "s", "k", "f1", time.Minute)
	require.NoError(t, err)
	require.False(t, res.Acquired)
	for _, o := range []string{sfotel.IdempotencyNew, sfotel.IdempotencyInProgress, sfotel.IdempotencyFingerprintMismatch, sfotel.IdempotencyReplayed} {
		require.Equal(t, int64(1), sumInt(t, reader, sfotel.MetricIdempotency, sfotel.AttrOutcome.String(o)), o)
	}
}

// TestCoreHasNoOpenTelemetry: the core packages must not depend on OpenTelemetry.
func TestCoreHasNoOpenTelemetry(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command("go", "list", "-deps", "../../storagefirst", "../../ingest", "../../pgstore",
		"../../sqlitestore", "../../workflow", "../../dlq").CombinedOutput()
	require.NoError(t, err, string(out))
	require.NotContains(t, string(out), "go.opentelemetry.io")
	require.Contains(t, string(out), "github.com/storagefirst/storagefirst-go/storagefirst\n")
}

func collect(t *testing.T, r *sdkmetric.ManualReader, name string) metricdata.Aggregation {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, r.Collect(context.Background(), &rm))
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m.Data
			}
		}
	}
	return nil
}

func has(set attribute.Set, want []attribute.KeyValue) bool {
	for _, kv := range want {
		v, ok := set.Value(kv.Key)
		if !ok || v != kv.Value {
			return false
		}
	}
	return true
}

func sumInt(t *testing.T, r *sdkmetric.ManualReader, name string, want ...attribute.KeyValue) int64 {
	s, _ := collect(t, r, name).(metricdata.Sum[int64])
	var n int64
	for _, dp := range s.DataPoints {
		if has(dp.Attributes, want) {
			n += dp.Value
		}
	}
	return n
}

func gauge(t *testing.T, r *sdkmetric.ManualReader, name string, want ...attribute.KeyValue) int64 {
	g, _ := collect(t, r, name).(metricdata.Gauge[int64])
	for _, dp := range g.DataPoints {
		if has(dp.Attributes, want) {
			return dp.Value
		}
	}
	return -1
}

func histCount(t *testing.T, r *sdkmetric.ManualReader, name string) int64 {
	var n uint64
	switch h := collect(t, r, name).(type) {
	case metricdata.Histogram[float64]:
		for _, dp := range h.DataPoints {
			n += dp.Count
		}
	case metricdata.Histogram[int64]:
		for _, dp := range h.DataPoints {
			n += dp.Count
		}
	}
	return int64(n)
}
