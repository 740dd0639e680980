package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/storagefirst/storagefirst-go/storagefirst/sfotel"
)

// telemetry is the example's OpenTelemetry SDK: metrics for GET /metrics
// (Prometheus text format) and, when asked, traces to stdout.
type telemetry struct {
	inst     *sfotel.Instrumentation
	tracer   *sdktrace.TracerProvider
	metrics  http.Handler
	shutdown func(context.Context) error
}

// newTelemetry sets up the SDK. traces is "" (none), "stdout", or "otlp" (OTLP over
// HTTP, configured by the standard OTEL_EXPORTER_OTLP_* environment variables,
// e.g. OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318).
func newTelemetry(ctx context.Context, traces string) (*telemetry, error) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, fmt.Errorf("prometheus exporter: %w", err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	var tpOpts []sdktrace.TracerProviderOption
	switch traces {
	case "":
	case "stdout":
		te, err := stdouttrace.New(stdouttrace.WithWriter(os.Stdout))
		if err != nil {
			return nil, err
		}
		tpOpts = append(tpOpts, sdktrace.WithBatcher(te))
	case "otlp":
		te, err := otlptracehttp.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("OTLP exporter: %w", err)
		}
		tpOpts = append(tpOpts, sdktrace.WithBatcher(te))
	default:
		return nil, fmt.Errorf("-traces is empty, stdout or otlp, not %q", traces)
	}
	tp := sdktrace.NewTracerProvider(tpOpts...)
	inst, err := sfotel.New(sfotel.Config{TracerProvider: tp, MeterProvider: mp})
	if err != nil {
		return nil, err
	}
	return &telemetry{inst: inst, tracer: tp, metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		shutdown: func(ctx context.Context) error { return errors.Join(tp.Shutdown(ctx), mp.Shutdown(ctx)) }}, nil
}

// adminToken returns the given token, or a new random one.
func adminToken(given string) (string, bool) {
	if given != "" {
		return given, false
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b), true
}
