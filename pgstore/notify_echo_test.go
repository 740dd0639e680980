package pgstore_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/internal/pgtest"
	"github.com/storagefirst/storagefirst-go/pgstore"
)

// TestPutTxWakeNotTakenForAnEcho: wake-ups a Store sent after its group commits
// while nobody listened leave nothing behind that makes its listener, once it
// listens, take a PutTx's NOTIFY (from a backend the Store notified from) for an
// echo of its own: every PutTx wakes the consumer.
func TestPutTxWakeNotTakenForAnEcho(t *testing.T) {
	t.Parallel()
	url, schema := pgtest.NewSchema(t)
	cfg, err := pgxpool.ParseConfig(url)
	require.NoError(t, err)
	cfg.MaxConns = 3 // PutTx runs on the backends the notifications came from
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	s, err := pgstore.New(pool, pgstore.Config{Schema: schema, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	ctx := testCtx(t)
	_, err = s.Migrate(ctx)
	require.NoError(t, err)
	q, err := s.Queue("echo")
	require.NoError(t, err)
	for i := range 20 { // producer-only phase: nobody listens yet
		require.NoError(t, q.Put(ctx, newEnvs(t, 1)...))
		for deadline := time.Now().Add(10 * time.Second); pgstore.NotificationsSent(s) <= int64(i); {
			require.True(t, time.Now().Before(deadline), "the wake-up was not sent")
			time.Sleep(2 * time.Millisecond) // polling with a deadline, not synchronising
		}
	}
	w := q.Wake(ctx)
	<-w // the listener's start-up wake
	for i := range 4 {
		require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			_, err := q.PutTx(ctx, tx, newEnvs(t, 1)...)
			return err
		}))
		select {
		case <-w:
		case <-time.After(5 * time.Second):
			require.FailNow(t, "PutTx's NOTIFY taken for an echo", "PutTx %d", i)
		}
	}
}
