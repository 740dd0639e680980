package sfotel_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sfotel"
)

// The dead-letter counter is by queue only (the envelope type is unbounded), and a
// dead-lettering the queue failed to record is counted as processed with outcome
// error, not as a dead letter.
func TestOnProcessedCountsHonestly(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	inst, err := sfotel.New(sfotel.Config{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))})
	require.NoError(t, err)
	on := inst.OnProcessed("orders", nil)
	ctx := context.Background()
	for n, typ := range []string{"Order Placed", "Some Other DetailType", "yet-another"} {
		env, err := storagefirst.NewEnvelope(typ, []byte(`{}`))
		require.NoError(t, err)
		p := storagefirst.Processed{Envelope: env, Action: storagefirst.ActionDeadLettered, Err: errors.New("boom")}
		if n == 2 {
			p.AnswerErr = errors.New("the dead-letter write failed")
		}
		on(ctx, p)
	}
	dead, _ := collect(t, reader, sfotel.MetricDeadLettered).(metricdata.Sum[int64])
	require.Len(t, dead.DataPoints, 1, "one series per queue, whatever the envelope types")
	require.Equal(t, int64(2), dead.DataPoints[0].Value)
	_, hasType := dead.DataPoints[0].Attributes.Value(sfotel.AttrEnvelopeType)
	require.False(t, hasType)

	dl := sfotel.AttrAction.String("dead_lettered")
	require.Equal(t, int64(2), sumInt(t, reader, sfotel.MetricProcessed, dl, sfotel.AttrOutcome.String("ok")))
	require.Equal(t, int64(1), sumInt(t, reader, sfotel.MetricProcessed, dl, sfotel.AttrOutcome.String("error")))
}
