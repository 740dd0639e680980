package storagefirst_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
)

// TestShutdownFromOnHealthChange: a hook that stops the consumer (when its claims
// start failing, say) does not deadlock Run, which waits for its hooks: Shutdown
// returns, Run returns, and the last call reports the consumer stopped.
func TestShutdownFromOnHealthChange(t *testing.T) {
	t.Parallel()
	q := &failingQueue{MemoryQueue: sftest.NewMemoryQueue(nil)}
	q.failing.Store(true)
	var c *storagefirst.Consumer
	shutdown := make(chan error, 1)
	var log healthLog
	var err error
	c, err = storagefirst.NewConsumer(storagefirst.ConsumerConfig{
		Queue: q, PollInterval: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler),
		Handler: storagefirst.HandlerFunc(func(context.Context, storagefirst.Envelope) error { return nil }),
		OnHealthChange: func(ctx context.Context, h storagefirst.ConsumerHealth) {
			log.add(ctx, h)
			if h.Running && h.ClaimFailures > 0 {
				shutdown <- c.Shutdown(context.Background()) // no deadline: it must not need one
			}
		},
	})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- c.Run(context.Background()) }()
	select {
	case err := <-ran:
		require.NoError(t, err)
	case <-ctx.Done():
		require.FailNow(t, "Run never returned: Shutdown from OnHealthChange deadlocked")
	}
	require.NoError(t, <-shutdown)
	hs := log.all()
	require.GreaterOrEqual(t, len(hs), 3)
	require.False(t, hs[len(hs)-1].Running, "the last call reports the consumer stopped")
	require.ErrorIs(t, c.Run(ctx), storagefirst.ErrClosed)
}
