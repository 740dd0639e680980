package sfotel_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sfotel"
)

// Under a logger's open group the IDs stay top-level attributes; the caller's
// attributes stay in its group.
func TestLogHandlerPutsIDsAtTheTopLevelUnderGroups(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(sfotel.LogHandler(slog.NewJSONHandler(&buf, nil))).
		With("service", "shop").WithGroup("req").With("route", "/orders").WithGroup("inner")
	ctx, span := sdktrace.NewTracerProvider().Tracer("t").Start(context.Background(), "s")
	defer span.End()
	env, err := storagefirst.NewEnvelope("order", []byte(`{}`))
	require.NoError(t, err)
	env.CorrelationID = "c-1"
	ctx = sfotel.ContextWithEnvelope(ctx, env)

	logger.InfoContext(ctx, "grouped", "n", 1)
	var rec map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &rec), buf.String())
	require.Equal(t, trace.SpanContextFromContext(ctx).TraceID().String(), rec["trace_id"], buf.String())
	require.Equal(t, env.ID, rec["envelope_id"])
	require.Equal(t, "c-1", rec["correlation_id"])
	require.Equal(t, "shop", rec["service"])
	req, ok := rec["req"].(map[string]any)
	require.True(t, ok, buf.String())
	require.Equal(t, "/orders", req["route"])
	require.NotContains(t, req, "trace_id")
	require.Equal(t, map[string]any{"n": float64(1)}, req["inner"])

	// Without a span or an envelope nothing is added, the groups kept.
	buf.Reset()
	logger.InfoContext(context.Background(), "plain", "n", 2)
	rec = nil
	require.NoError(t, json.Unmarshal(buf.Bytes(), &rec), buf.String())
	require.NotContains(t, rec, "trace_id")
	require.Equal(t, map[string]any{"n": float64(2)}, rec["req"].(map[string]any)["inner"])
}
