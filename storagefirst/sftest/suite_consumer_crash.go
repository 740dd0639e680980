package sftest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// testConsumerRunsWhatACrashLeft: a process crashed while it held envelopes (their
// leases expired unanswered, once). Under a policy without retries, a consumer
// still runs them: one crash is not poison (ConsumerConfig.MaxUnansweredDeliveries
// bounds the unanswered deliveries apart from the policy's attempts). Only past
// that bound is the envelope dead-lettered unrun.
func testConsumerRunsWhatACrashLeft(t *testing.T, q QueueBackend) {
	ctx := suiteCtx(t)
	in := envs(t, 3)
	poison := in[0].ID
	// The crashed processes' deliveries: the poison's three times, the others' once.
	require.NoError(t, q.Put(ctx, in[0]))
	claimOne(t, ctx, q, shortLease)
	claimOne(t, ctx, q, shortLease)
	require.NoError(t, q.Put(ctx, in[1:]...))
	seen := map[string]int{}
	for len(seen) < len(in) {
		ds, err := q.Claim(ctx, len(in), shortLease)
		require.NoError(t, err)
		for _, d := range ds {
			seen[d.Envelope.ID] = d.Envelope.Attempt
		}
		if len(seen) < len(in) {
			select {
			case <-ctx.Done():
				require.FailNow(t, "the envelopes never came due")
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	require.Equal(t, 3, seen[poison])
	processed := make(chan storagefirst.Processed, 10)
	handled := make(chan string, 10)
	sc := startConsumer(t, storagefirst.ConsumerConfig{
		Queue: q, Workers: 3, Lease: time.Minute,
		Retry: storagefirst.RetryPolicy{NoRetries: true},
		Handler: storagefirst.HandlerFunc(func(_ context.Context, env storagefirst.Envelope) error {
			handled <- env.ID
			return nil
		}),
		OnProcessed: func(_ context.Context, p storagefirst.Processed) { processed <- p },
	})
	final := map[string]storagefirst.Processed{}
	awaitProcessed(t, ctx, processed, func(p storagefirst.Processed) bool {
		final[p.Envelope.ID] = p
		return len(final) == len(in)
	})
	require.NoError(t, sc.stop(t))
	close(handled)
	var ran []string
	for id := range handled {
		ran = append(ran, id)
	}
	require.ElementsMatch(t, []string{in[1].ID, in[2].ID}, ran, "what one crash left runs")
	for _, e := range in[1:] {
		require.Equal(t, storagefirst.ActionAcked, final[e.ID].Action)
		require.Greater(t, final[e.ID].Envelope.Attempt, 1, "a redelivery")
	}
	p := final[poison]
	require.Equal(t, storagefirst.ActionDeadLettered, p.Action, "three unanswered deliveries: poison")
	require.Equal(t, 4, p.Envelope.Attempt)
	require.ErrorIs(t, p.Err, storagefirst.ErrLeasesExpired)
	s, err := q.Stats(ctx)
	require.NoError(t, err)
	require.Equal(t, storagefirst.QueueStats{Dead: 1}, s)
}
