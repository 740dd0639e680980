package sfotel_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sfotel"
)

// ObserveBatches reports a pgstore's group-commit counters: the envelopes stored
// and the transactions that stored them.
func TestObserveBatchesReportsGroupCommits(t *testing.T) {
	s := newPGStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q, err := s.Queue("orders")
	require.NoError(t, err)

	reader := sdkmetric.NewManualReader()
	inst, err := sfotel.New(sfotel.Config{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))})
	require.NoError(t, err)
	_, err = inst.ObserveBatches("pg", func() (int64, int64) {
		st := s.BatchStats()
		return st.PutEnvelopes, st.PutBatches
	})
	require.NoError(t, err)

	for range 3 {
		var envs []storagefirst.Envelope
		for range 2 {
			env, err := storagefirst.NewEnvelope("t", []byte(`{}`))
			require.NoError(t, err)
			envs = append(envs, env)
		}
		require.NoError(t, q.Put(ctx, envs...))
	}
	st := s.BatchStats()
	require.Equal(t, int64(6), st.PutEnvelopes)
	pg := sfotel.AttrStore.String("pg")
	require.Equal(t, int64(6), sumInt(t, reader, sfotel.MetricGroupCommitEnvelopes, pg))
	require.Equal(t, st.PutBatches, sumInt(t, reader, sfotel.MetricGroupCommitBatches, pg))
	require.Positive(t, st.PutBatches)

	_, err = inst.ObserveBatches("none", nil)
	require.Error(t, err)
}
