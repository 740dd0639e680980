package sfotel_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sfotel"
)

// stuckStats answers Stats only when its context ends or the test releases it.
type stuckStats struct{ release chan struct{} }

func (s stuckStats) Stats(ctx context.Context) (storagefirst.QueueStats, error) {
	select {
	case <-ctx.Done():
		return storagefirst.QueueStats{}, ctx.Err()
	case <-s.release:
		return storagefirst.QueueStats{}, context.Canceled
	}
}

type fixedStats storagefirst.QueueStats

func (f fixedStats) Stats(context.Context) (storagefirst.QueueStats, error) {
	return storagefirst.QueueStats(f), nil
}

// A queue whose Stats hangs does not hang the metrics collection: each call is
// bounded by Config.StatsTimeout, and the other queues are still reported.
func TestObserveQueuesBoundsStats(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	inst, err := sfotel.New(sfotel.Config{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
		StatsTimeout: 50 * time.Millisecond})
	require.NoError(t, err)
	stuck := stuckStats{release: make(chan struct{})}
	t.Cleanup(func() { close(stuck.release) })
	_, err = inst.ObserveQueues(map[string]storagefirst.StatsReporter{"a-stuck": stuck, "b-fine": fixedStats{Dead: 3}})
	require.NoError(t, err)

	collected := make(chan error, 1)
	var rm metricdata.ResourceMetrics
	go func() { collected <- reader.Collect(context.Background(), &rm) }()
	select {
	case err := <-collected:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("collecting the queue gauges hangs on a queue whose Stats does not answer")
	}
	queues := map[string]bool{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == sfotel.MetricQueueEnvelopes {
				for _, dp := range m.Data.(metricdata.Gauge[int64]).DataPoints {
					q, _ := dp.Attributes.Value(sfotel.AttrQueue)
					queues[q.AsString()] = true
				}
			}
		}
	}
	require.Equal(t, map[string]bool{"b-fine": true}, queues)
}
