package sfotel_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/storagefirst/storagefirst-go/storagefirst/sfotel"
	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
	"github.com/storagefirst/storagefirst-go/workflow"
)

func TestWorkflowExecutionsCountedByStatusAndTraced(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	inst, err := sfotel.New(sfotel.Config{TracerProvider: tp, MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))})
	require.NoError(t, err)
	ok, err := workflow.New("ok", workflow.Definition{StartAt: "A", States: map[string]workflow.State{"A": workflow.Pass{End: true}}})
	require.NoError(t, err)
	bad, err := workflow.New("bad", workflow.Definition{StartAt: "F", States: map[string]workflow.State{"F": workflow.Fail{Error: "E", Cause: "c"}}})
	require.NoError(t, err)
	engine, err := workflow.NewEngine(workflow.EngineConfig{Store: inst.Workflows(workflow.NewMemoryStore()),
		DeadLetters: sftest.NewMemoryQueue(nil)}, ok, bad)
	require.NoError(t, err)

	ctx, span := tp.Tracer("test").Start(context.Background(), "handler")
	_, err = engine.StartSync(ctx, ok, json.RawMessage(`{}`))
	require.NoError(t, err)
	_, err = engine.StartSync(ctx, bad, json.RawMessage(`{}`))
	require.Error(t, err)
	span.End()

	require.Equal(t, int64(2), sumInt(t, reader, sfotel.MetricWorkflowExecution, sfotel.AttrStatus.String("RUNNING")))
	require.Equal(t, int64(1), sumInt(t, reader, sfotel.MetricWorkflowExecution, sfotel.AttrStatus.String("SUCCEEDED"),
		sfotel.AttrWorkflow.String("ok")))
	require.Equal(t, int64(1), sumInt(t, reader, sfotel.MetricWorkflowExecution, sfotel.AttrStatus.String("FAILED"),
		sfotel.AttrWorkflow.String("bad")))
	// The state changes are events on the caller's span.
	got := spans.GetSpans()
	require.Len(t, got, 1)
	var names []string
	for _, ev := range got[0].Events {
		names = append(names, ev.Name)
	}
	require.Contains(t, names, "workflow RUNNING")
	require.Contains(t, names, "workflow SUCCEEDED")
	require.Contains(t, names, "workflow FAILED")
}
