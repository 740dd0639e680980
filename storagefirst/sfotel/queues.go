package sfotel

import (
	"context"
	"fmt"
	"sort"

	"go.opentelemetry.io/otel/metric"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// ObserveQueues reports, whenever metrics are collected, each queue's envelopes by
// state (ready, scheduled, in_flight, dead: the dead letters per queue) and its
// oldest ready age, read from its Stats. Each Stats call is bounded by
// Config.StatsTimeout; a queue whose Stats fails or times out is left out of that
// collection. Unregister the returned registration to stop.
func (i *Instrumentation) ObserveQueues(queues map[string]storagefirst.StatsReporter) (metric.Registration, error) {
	names := make([]string, 0, len(queues))
	for name := range queues {
		names = append(names, name)
	}
	sort.Strings(names)
	reg, err := i.meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		for _, name := range names {
			st, err := i.stats(ctx, queues[name])
			if err != nil {
				continue
			}
			q := AttrQueue.String(name)
			for _, s := range [...]struct {
				state string
				n     int64
			}{{"ready", st.Ready}, {"scheduled", st.Scheduled}, {"in_flight", st.InFlight}, {"dead", st.Dead}} {
				o.ObserveInt64(i.envelopes, s.n, metric.WithAttributes(q, AttrState.String(s.state)))
			}
			o.ObserveFloat64(i.oldestReady, st.OldestReadyAge.Seconds(), metric.WithAttributes(q))
		}
		return nil
	}, i.envelopes, i.oldestReady)
	if err != nil {
		return nil, fmt.Errorf("sfotel: observing queues: %w", err)
	}
	return reg, nil
}

func (i *Instrumentation) stats(ctx context.Context, r storagefirst.StatsReporter) (storagefirst.QueueStats, error) {
	ctx, cancel := context.WithTimeout(ctx, i.statsLimit)
	defer cancel()
	return r.Stats(ctx)
}
