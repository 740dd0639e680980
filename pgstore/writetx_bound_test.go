package pgstore_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/pgstore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// TestWriteTxStatementsAreBoundedByWriteTimeout: a WriteTx's statements end by
// WriteTimeout even when they run on a context without a deadline, and so does a
// PutKeyed that waits behind another transaction's row lock on its key.
func TestWriteTxStatementsAreBoundedByWriteTimeout(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const timeout = 500 * time.Millisecond
	s, err := pgstore.New(b.pool, pgstore.Config{Schema: b.schema, WriteTimeout: timeout, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	q, err := s.Queue("orders")
	require.NoError(t, err)
	bg := context.Background() // no deadline: only WriteTimeout can end the calls

	start := time.Now()
	err = s.WriteTx(bg, func(tx pgx.Tx) error {
		_, err := tx.Exec(bg, "SELECT pg_sleep(30)")
		return err
	})
	require.Error(t, err)
	require.Less(t, time.Since(start), 10*time.Second, "a statement on the caller's context is cut at WriteTimeout")

	// Hold the key's record row locked in another transaction.
	p := storagefirst.KeyedPut{Scope: "s", Key: "k", Answer: []byte(`{}`)}
	p.Envelope, err = storagefirst.NewEnvelope("test", []byte(`{}`))
	require.NoError(t, err)
	ctx := testCtx(t)
	lock, err := b.pool.Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = lock.Rollback(context.Background()) })
	_, err = lock.Exec(ctx, `INSERT INTO `+b.schema+`.idempotency (scope, key, fingerprint, state, token, lease_until)
		VALUES ('s', 'k', '', 'released', 1, NULL)`)
	require.NoError(t, err)

	start = time.Now()
	_, err = q.PutKeyed(bg, p)
	require.Error(t, err)
	require.Less(t, time.Since(start), 10*time.Second, "PutKeyed behind a row lock is cut at WriteTimeout")

	// The store still works once the lock is gone.
	require.NoError(t, lock.Rollback(ctx))
	res, err := q.PutKeyed(ctx, p)
	require.NoError(t, err)
	require.True(t, res.Stored)
}
