package pgstore_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/pgstore"
)

// listenerPID polls pg_stat_activity until the store's listener (found by its
// application_name) is listening on a backend other than notPID, and returns that
// backend; it fails the test at deadline.
func listenerPID(t *testing.T, ctx context.Context, b *bundle, notPID int32, deadline time.Time) int32 {
	t.Helper()
	for {
		var pid int32
		err := b.pool.QueryRow(ctx, `SELECT pid FROM pg_stat_activity
			WHERE application_name = $1 AND query LIKE 'LISTEN %' AND state = 'idle' AND pid <> $2`,
			"storagefirst listen "+b.schema+"_wake", notPID).Scan(&pid)
		if err == nil {
			return pid
		}
		require.ErrorIs(t, err, pgx.ErrNoRows)
		require.True(t, time.Now().Before(deadline), "no listener back within the deadline (backend %d was terminated)", notPID)
		time.Sleep(5 * time.Millisecond) // poll interval, not synchronisation
	}
}

// awaitWake fails the test unless wake receives before deadline.
func awaitWake(t *testing.T, wake <-chan struct{}, deadline time.Time, what string) {
	t.Helper()
	select {
	case _, ok := <-wake:
		require.True(t, ok, "wake channel closed")
	case <-time.After(time.Until(deadline)):
		require.FailNow(t, "not woken in time: "+what)
	}
}

// TestListenerRecoversFromTerminatedBackend kills the listener's backend again and
// again (pg_terminate_backend), each time after a healthy session: every time the
// listener is back, wakes every subscriber once, and a Put wakes them again, all
// within a second of the kill. Without the backoff reset the waits double (100 ms,
// 200 ms, ... 1.6 s) and the fifth round misses its second.
func TestListenerRecoversFromTerminatedBackend(t *testing.T) {
	t.Parallel()
	b := setup(t)
	q := b.queue(t, "q")
	ctx := testCtx(t)
	wake := q.Wake(ctx)
	in := newEnvs(t, 7)

	pid := listenerPID(t, ctx, b, 0, time.Now().Add(10*time.Second))
	awaitWake(t, wake, time.Now().Add(10*time.Second), "the listener's first wake-up")
	// A healthy session: a notification arrives on it.
	require.NoError(t, q.Put(ctx, in[0]))
	awaitWake(t, wake, time.Now().Add(time.Second), "a Put on a live listener")
	for round := 1; round < len(in); round++ {
		var killed bool
		require.NoError(t, b.pool.QueryRow(ctx, "SELECT pg_terminate_backend($1)", pid).Scan(&killed))
		require.True(t, killed)
		deadline := time.Now().Add(time.Second)
		pid = listenerPID(t, ctx, b, pid, deadline)
		awaitWake(t, wake, deadline, "the wake-up of a reconnected listener")
		// Notifications flow again (and make the session a healthy one).
		require.NoError(t, q.Put(ctx, in[round]))
		awaitWake(t, wake, deadline, "a Put on the reconnected listener")
		t.Logf("round %d: listening again on backend %d and notified, %v before the deadline",
			round, pid, time.Until(deadline).Round(time.Millisecond))
	}
}

func TestListenPingIntervalMustNotBeNegative(t *testing.T) {
	t.Parallel()
	_, err := pgstore.New(setup(t).pool, pgstore.Config{ListenPingInterval: -time.Second, Logger: slog.New(slog.DiscardHandler)})
	require.Error(t, err)
	require.False(t, errors.Is(err, pgstore.ErrInvalidSchema))
}
