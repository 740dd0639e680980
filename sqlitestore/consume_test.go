package sqlitestore_test

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// TestExactlyOnceWithCompleteTx: the effect and its idempotency record commit in
// one SQLite transaction; duplicates and transient failures change nothing.
func TestExactlyOnceWithCompleteTx(t *testing.T) {
	t.Parallel()
	s := fresh(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := s.DB().ExecContext(ctx, `CREATE TABLE orders (key TEXT PRIMARY KEY)`)
	require.NoError(t, err)
	q, err := s.Queue("orders")
	require.NoError(t, err)
	idem := s.Idempotency()
	var failed atomic.Int32
	handler := storagefirst.HandlerFunc(func(ctx context.Context, env storagefirst.Envelope) error {
		return s.WriteTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO orders VALUES (?)`, env.Key()); err != nil {
				return storagefirst.Permanent(err) // a second insert of a key would fail the test
			}
			if env.Attempt == 1 && failed.Add(1)%3 == 0 {
				return errors.New("transient, after the write: rolled back")
			}
			return idem.CompleteFromContext(ctx, tx)
		})
	})
	const n = 30
	var envs []storagefirst.Envelope
	for range n {
		e, err := storagefirst.NewEnvelope("order", []byte(`{}`))
		require.NoError(t, err)
		e.IdempotencyKey = e.ID
		dup := e
		dup.ID = storagefirst.NewID()
		envs = append(envs, e, dup)
	}
	var acked atomic.Int32
	done := make(chan struct{})
	c, err := storagefirst.NewConsumer(storagefirst.ConsumerConfig{Queue: q, Workers: 4, PollInterval: 10 * time.Millisecond,
		Handler: storagefirst.Chain(handler, idempotent(t, storagefirst.IdempotentConfig{Store: idem})),
		Retry:   storagefirst.RetryPolicy{Interval: time.Millisecond}, Logger: slog.New(slog.DiscardHandler),
		OnProcessed: func(_ context.Context, p storagefirst.Processed) {
			if p.Action == storagefirst.ActionAcked && acked.Add(1) == 2*n {
				close(done)
			}
		}})
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error)
	go func() { ran <- c.Run(runCtx) }()
	require.NoError(t, q.Put(ctx, envs...))
	select {
	case <-done:
	case <-ctx.Done():
		require.FailNow(t, "not all acknowledged", "%d", acked.Load())
	}
	stop()
	require.NoError(t, <-ran)
	var count int
	require.NoError(t, s.ReadDB().QueryRowContext(ctx, `SELECT count(*) FROM orders`).Scan(&count))
	require.Equal(t, n, count)
}
