package dlq_test

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/dlq"
	"github.com/storagefirst/storagefirst-go/internal/pgtest"
	"github.com/storagefirst/storagefirst-go/pgstore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		require.True(t, time.Now().Before(deadline), "timed out waiting for %s", what)
		<-time.After(5 * time.Millisecond)
	}
}

// TestReplayPostgresExactlyOnce: a poisoned handler sends envelopes to the dead
// letters; the handler is fixed; a replay interrupted half-way and run again
// re-delivers them, and every effect happens exactly once.
func TestReplayPostgresExactlyOnce(t *testing.T) {
	t.Parallel()
	url, schema := pgtest.NewSchema(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool, err := pgxpool.New(ctx, url)
	require.NoError(t, err)
	defer pool.Close()
	store, err := pgstore.New(pool, pgstore.Config{Schema: schema, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer store.Close()
	_, err = store.Migrate(ctx)
	require.NoError(t, err)
	q, err := store.Queue("orders")
	require.NoError(t, err)
	idem := store.Idempotency()
	_, err = pool.Exec(ctx, "CREATE TABLE "+schema+".orders (key text PRIMARY KEY)")
	require.NoError(t, err)

	var fixed atomic.Bool
	effect := storagefirst.HandlerFunc(func(ctx context.Context, env storagefirst.Envelope) error {
		if !fixed.Load() && strings.Contains(string(env.Payload), "poison") {
			return storagefirst.Permanentf("cannot parse the order")
		}
		return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			// A duplicate insert would fail the test's primary key: exactly once.
			if _, err := tx.Exec(ctx, "INSERT INTO "+schema+".orders VALUES ($1)", env.Key()); err != nil {
				return storagefirst.Permanent(err)
			}
			return idem.CompleteFromContext(ctx, tx)
		})
	})
	cons, err := storagefirst.NewConsumer(storagefirst.ConsumerConfig{Queue: q, Workers: 4, PollInterval: 10 * time.Millisecond,
		Handler: storagefirst.Chain(effect, idempotent(t, storagefirst.IdempotentConfig{Store: idem, Scope: "orders"})),
		Retry:   storagefirst.RetryPolicy{NoRetries: true}, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- cons.Run(runCtx) }()
	defer func() { stop(); <-done }()

	const n, poisoned = 20, 8
	var envs []storagefirst.Envelope
	for i := range n {
		body := `{"pizza":"margherita"}`
		if i%5 < 2 {
			body = `{"pizza":"poison"}`
		}
		e, err := storagefirst.NewEnvelope("CreateOrder", []byte(body))
		require.NoError(t, err)
		envs = append(envs, e)
	}
	require.NoError(t, q.Put(ctx, envs...))
	orders := func() int {
		var c int
		require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM "+schema+".orders").Scan(&c))
		return c
	}
	dead := func() int64 { s, err := q.Stats(ctx); require.NoError(t, err); return s.Dead }
	waitFor(t, "the poisoned envelopes to die", func() bool { return dead() == poisoned && orders() == n-poisoned })

	listed, err := dlq.List(ctx, dlq.FromDeadLetters(q), dlq.Filter{}, 0)
	require.NoError(t, err)
	require.Len(t, listed, poisoned)
	counts := dlq.Count(listed)
	require.Equal(t, poisoned, counts.ByError["permanent: cannot parse the order"])

	fixed.Store(true)
	// A dry run changes nothing.
	sum, err := dlq.Replay(ctx, dlq.FromDeadLetters(q), nil, dlq.ReplayOptions{DryRun: true})
	require.NoError(t, err)
	require.Equal(t, poisoned, sum.Replayed)
	require.Equal(t, int64(poisoned), dead())

	// Interrupted half-way...
	sum, err = dlq.Replay(ctx, dlq.FromDeadLetters(q), nil, dlq.ReplayOptions{Limit: poisoned / 2})
	require.NoError(t, err)
	require.Equal(t, poisoned/2, sum.Replayed)
	waitFor(t, "half the replays", func() bool { return orders() == n-poisoned/2 })
	// ...and run again.
	sum, err = dlq.Replay(ctx, dlq.FromDeadLetters(q), nil, dlq.ReplayOptions{RatePerSecond: 1000})
	require.NoError(t, err)
	require.Equal(t, dlq.Summary{Replayed: poisoned / 2}, sum)
	waitFor(t, "every order", func() bool { return orders() == n })
	require.Zero(t, dead())
	// A replay of nothing is fine.
	sum, err = dlq.Replay(ctx, dlq.FromDeadLetters(q), nil, dlq.ReplayOptions{})
	require.NoError(t, err)
	require.Zero(t, sum.Replayed)
}
