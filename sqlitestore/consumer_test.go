package sqlitestore_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// TestConsumerGivesUpWhenTheTableIsGone: a consumer whose claims fail (its table
// was dropped) reports it in Health at once, and Run returns ErrClaimFailing with
// the database's error once FailAfter has passed, instead of looping in the log.
func TestConsumerGivesUpWhenTheTableIsGone(t *testing.T) {
	t.Parallel()
	s := fresh(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q, err := s.Queue("gone")
	require.NoError(t, err)
	_, err = s.DB().ExecContext(ctx, `DROP TABLE envelopes`)
	require.NoError(t, err)
	const failAfter = 300 * time.Millisecond
	failing := make(chan storagefirst.ConsumerHealth, 10)
	c, err := storagefirst.NewConsumer(storagefirst.ConsumerConfig{
		Queue: q, PollInterval: 10 * time.Millisecond, FailAfter: failAfter, Logger: slog.New(slog.DiscardHandler),
		Handler: storagefirst.HandlerFunc(func(context.Context, storagefirst.Envelope) error { return nil }),
		OnHealthChange: func(_ context.Context, h storagefirst.ConsumerHealth) {
			if h.Running && !h.Healthy() {
				failing <- h
			}
		},
	})
	require.NoError(t, err)
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	h := <-failing
	require.Equal(t, 1, h.ClaimFailures)
	require.ErrorContains(t, h.LastClaimError, "no such table")
	select {
	case err = <-done:
	case <-ctx.Done():
		require.FailNow(t, "Run did not give up")
	}
	require.ErrorIs(t, err, storagefirst.ErrClaimFailing)
	require.ErrorContains(t, err, "no such table")
	require.GreaterOrEqual(t, time.Since(start), failAfter)
	require.False(t, c.Health().Running)
}
