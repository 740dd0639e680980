package pgstore_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// TestConsumerGivesUpWhenTheSchemaIsGone: a consumer whose claims fail (its schema
// was dropped) reports it in Health at once, and Run returns ErrClaimFailing with
// the database's error once FailAfter has passed, instead of looping in the log.
func TestConsumerGivesUpWhenTheSchemaIsGone(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := testCtx(t)
	q := b.queue(t, "gone")
	schema := pgx.Identifier{b.schema}.Sanitize()
	_, err := b.pool.Exec(ctx, fmt.Sprintf("DROP SCHEMA %s CASCADE", schema))
	require.NoError(t, err)
	t.Cleanup(func() { // for pgtest's own cleanup, which drops it
		_, err := b.pool.Exec(context.Background(), fmt.Sprintf("CREATE SCHEMA IF NOT EXISTS %s", schema))
		require.NoError(t, err)
	})
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
	require.ErrorContains(t, h.LastClaimError, "does not exist")
	select {
	case err = <-done:
	case <-ctx.Done():
		require.FailNow(t, "Run did not give up")
	}
	require.ErrorIs(t, err, storagefirst.ErrClaimFailing)
	require.ErrorContains(t, err, "does not exist")
	require.GreaterOrEqual(t, time.Since(start), failAfter)
	require.False(t, c.Health().Running)
	require.Positive(t, c.Health().ClaimFailures)
}
