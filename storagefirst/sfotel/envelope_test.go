package sfotel_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sfotel"
)

// Only the W3C trace context is stored in an envelope's metadata, bounded: never
// the baggage (even with a baggage propagator configured), never an oversized
// tracestate.
func TestInjectStoresOnlyTheTraceContext(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	member, err := baggage.NewMember("user", "secret-ish")
	require.NoError(t, err)
	bag, err := baggage.New(member)
	require.NoError(t, err)
	ctx := baggage.ContextWithBaggage(context.Background(), bag)
	ctx, span := tp.Tracer("t").Start(ctx, "s")
	defer span.End()
	env, err := storagefirst.NewEnvelope("t", []byte(`{}`))
	require.NoError(t, err)

	for name, cfg := range map[string]sfotel.Config{
		"default":            {TracerProvider: tp},
		"baggage propagator": {TracerProvider: tp, Propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})},
	} {
		inst, err := sfotel.New(cfg)
		require.NoError(t, err)
		require.Equal(t, []string{"traceparent", "tracestate"}, inst.MetadataHeaders(), name)
		got := inst.Inject(ctx, env)
		require.NotEmpty(t, got.Metadata["traceparent"], name)
		require.NotContains(t, got.Metadata, "baggage", name)
		require.Nil(t, env.Metadata, "the caller's envelope is left alone")
	}

	// A tracestate above MetadataValueLimit is left out; traceparent still stored.
	var members []string
	for n := range 5 {
		members = append(members, fmt.Sprintf("k%d=%s", n, strings.Repeat("v", 200)))
	}
	ts, err := trace.ParseTraceState(strings.Join(members, ","))
	require.NoError(t, err)
	big := trace.ContextWithSpanContext(context.Background(), span.SpanContext().WithTraceState(ts))
	inst, err := sfotel.New(sfotel.Config{TracerProvider: tp})
	require.NoError(t, err)
	got := inst.Inject(big, env)
	require.NotEmpty(t, got.Metadata["traceparent"])
	require.NotContains(t, got.Metadata, "tracestate")
	for k, v := range got.Metadata {
		require.LessOrEqual(t, len(v), sfotel.MetadataValueLimit, k)
	}
}
