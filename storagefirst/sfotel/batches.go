package sfotel

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/metric"
)

// ObserveBatches reports, whenever metrics are collected, the group-commit
// counters of the store named store (the storagefirst.store attribute): stats
// returns the envelopes stored and the put transactions that stored them since
// the store was created, e.g. from pgstore's Store.BatchStats (PutEnvelopes,
// PutBatches). The rate of MetricGroupCommitEnvelopes over the rate of
// MetricGroupCommitBatches is the group-commit batch size. Unregister the
// returned registration to stop.
func (i *Instrumentation) ObserveBatches(store string, stats func() (envelopes, batches int64)) (metric.Registration, error) {
	if stats == nil {
		return nil, fmt.Errorf("sfotel: observing batches of %q: no stats function", store)
	}
	attrs := metric.WithAttributes(AttrStore.String(store))
	reg, err := i.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		envelopes, batches := stats()
		o.ObserveInt64(i.gcEnvelopes, envelopes, attrs)
		o.ObserveInt64(i.gcBatches, batches, attrs)
		return nil
	}, i.gcEnvelopes, i.gcBatches)
	if err != nil {
		return nil, fmt.Errorf("sfotel: observing batches of %q: %w", store, err)
	}
	return reg, nil
}
