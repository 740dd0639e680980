package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/pgstore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

func TestCompleteTxCommitsWithTheBusinessWrite(t *testing.T) {
	t.Parallel()
	b := setup(t)
	idem := b.store.Idempotency()
	ctx := testCtx(t)
	_, err := b.pool.Exec(ctx, "CREATE TABLE "+b.schema+".orders (id text primary key)")
	require.NoError(t, err)

	res, err := idem.Begin(ctx, "orders", "k1", "fp", time.Minute)
	require.NoError(t, err)
	// Rolled back: neither the order nor the completion happened.
	tx, err := b.pool.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "INSERT INTO "+b.schema+".orders VALUES ('o1')")
	require.NoError(t, err)
	require.NoError(t, idem.CompleteTx(ctx, tx, res.Claim, storagefirst.Outcome{}, time.Hour))
	require.NoError(t, tx.Rollback(ctx))
	r, err := idem.Get(ctx, "orders", "k1")
	require.NoError(t, err)
	require.Equal(t, storagefirst.IdempotencyInProgress, r.State)

	// Committed: both.
	require.NoError(t, pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO "+b.schema+".orders VALUES ('o1')"); err != nil {
			return err
		}
		return idem.CompleteTx(ctx, tx, res.Claim, storagefirst.Outcome{Result: []byte(`{"order":"o1"}`)}, time.Hour)
	}))
	r, err = idem.Get(ctx, "orders", "k1")
	require.NoError(t, err)
	require.Equal(t, storagefirst.IdempotencyCompleted, r.State)
	require.JSONEq(t, `{"order":"o1"}`, string(r.Outcome.Result))
	// The middleware's own Complete afterwards is a no-op success.
	require.NoError(t, idem.Complete(ctx, res.Claim, storagefirst.Outcome{}, time.Hour))
}

// TestConsumerExactlyOnceWithCompleteTx runs the whole pattern on Postgres: a
// consumer with the Idempotent middleware whose handler writes its effect and the
// idempotency record in one transaction; every envelope is delivered twice (a
// client retry puts it again under a new ID with the same key) and some handlers
// fail transiently after writing. Each effect must happen exactly once.
func TestConsumerExactlyOnceWithCompleteTx(t *testing.T) {
	t.Parallel()
	b := setup(t)
	q := b.queue(t, "orders")
	idem := b.store.Idempotency()
	ctx := testCtx(t)
	_, err := b.pool.Exec(ctx, "CREATE TABLE "+b.schema+".orders (key text, n int)")
	require.NoError(t, err)

	const n = 50
	var in []storagefirst.Envelope
	for i, e := range newEnvs(t, n) {
		e.IdempotencyKey = e.ID
		retry := e
		retry.ID = storagefirst.NewID() // the same request, persisted twice
		in = append(in, e, retry)
		_ = i
	}
	var failOnce sync.Map
	handler := storagefirst.HandlerFunc(func(ctx context.Context, env storagefirst.Envelope) error {
		return pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "INSERT INTO "+b.schema+".orders VALUES ($1, 1)", env.Key()); err != nil {
				return err
			}
			if _, loaded := failOnce.LoadOrStore(env.Key(), true); !loaded && env.Payload[5]%3 == 0 {
				return errors.New("transient failure after the write: rolled back")
			}
			return idem.CompleteFromContext(ctx, tx)
		})
	})
	var acked atomic.Int32
	all := make(chan struct{})
	c, err := storagefirst.NewConsumer(storagefirst.ConsumerConfig{
		Queue: q, Workers: 8, PollInterval: 20 * time.Millisecond,
		Handler: storagefirst.Chain(handler, idempotent(t, storagefirst.IdempotentConfig{Store: idem, Scope: "orders"})),
		Retry:   storagefirst.RetryPolicy{Interval: time.Millisecond, MaxRetries: 5},
		Logger:  slog.New(slog.DiscardHandler),
		OnProcessed: func(_ context.Context, p storagefirst.Processed) {
			if p.Action == storagefirst.ActionAcked && acked.Add(1) == int32(len(in)) {
				close(all)
			}
		},
	})
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(runCtx) }()
	require.NoError(t, q.Put(ctx, in...))
	select {
	case <-all:
	case <-ctx.Done():
		require.FailNow(t, "not all envelopes were acknowledged", "%d of %d", acked.Load(), len(in))
	}
	stop()
	require.NoError(t, <-done)

	var rows, keys int
	require.NoError(t, b.pool.QueryRow(ctx, "SELECT count(*), count(DISTINCT key) FROM "+b.schema+".orders").Scan(&rows, &keys))
	require.Equal(t, n, keys)
	require.Equal(t, n, rows, "every effect exactly once")
	s, err := q.Stats(ctx)
	require.NoError(t, err)
	require.Zero(t, s.Depth()+s.Dead)
}

func TestReapDeletesExpiredRecords(t *testing.T) {
	t.Parallel()
	b := setup(t)
	idem := b.store.Idempotency()
	ctx := testCtx(t)
	for _, key := range []string{"done", "alive"} {
		res, err := idem.Begin(ctx, "s", key, "", time.Minute)
		require.NoError(t, err)
		ttl := time.Hour
		if key == "done" {
			ttl = time.Millisecond
		}
		require.NoError(t, idem.Complete(ctx, res.Claim, storagefirst.Outcome{}, ttl))
	}
	var n int64
	for n == 0 { // the 1 ms expiry has passed once the reaper sees it
		var err error
		n, err = idem.Reap(ctx, time.Hour, 0)
		require.NoError(t, err)
		require.NoError(t, ctx.Err())
	}
	require.Equal(t, int64(1), n)
	_, err := idem.Get(ctx, "s", "done")
	require.ErrorIs(t, err, storagefirst.ErrNotFound)
	_, err = idem.Get(ctx, "s", "alive")
	require.NoError(t, err)
}

func TestPooledModeWithIAMTokens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cfg, err := pgxpool.ParseConfig(b.url)
	require.NoError(t, err)
	cfg.MaxConns = 2
	pgstore.ConfigurePool(cfg)
	var tokens atomic.Int32
	pgstore.PasswordAuth(cfg, func(ctx context.Context, endpoint, user string) (string, error) {
		tokens.Add(1)
		if user != "postgres" {
			return "", errors.New("unexpected user " + user)
		}
		return "token", nil // the local server trusts; RDS would check the signature
	}, time.Hour)
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	defer pool.Close()
	s, err := pgstore.New(pool, pgstore.Config{Schema: b.schema, Pooled: true})
	require.NoError(t, err)
	defer s.Close()
	q, err := s.Queue("pooled")
	require.NoError(t, err)
	ctx := testCtx(t)
	require.NoError(t, q.Put(ctx, newEnvs(t, 3)...))
	ds, err := q.Claim(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 3)
	require.Equal(t, int32(1), tokens.Load(), "one token, reused by later connections")
}

func TestCompleteBatchIsOneTransaction(t *testing.T) {
	t.Parallel()
	b := setup(t)
	idem := b.store.Idempotency()
	ctx := testCtx(t)
	_, err := b.pool.Exec(ctx, "CREATE TABLE "+b.schema+".orders (id text primary key)")
	require.NoError(t, err)
	insert := "INSERT INTO " + b.schema + ".orders VALUES ($1)"

	_, err = idem.Begin(ctx, "s", "k", "", time.Minute)
	require.NoError(t, err)
	require.ErrorContains(t, idem.CompleteBatch(ctx, b.pool, &pgx.Batch{}, storagefirst.Outcome{}), "no idempotency claim")

	// A claim that was taken over: the effect is rolled back with the completion.
	stale := storagefirst.Claim{Scope: "s", Key: "k", Token: 1 << 40}
	var batch pgx.Batch
	batch.Queue(insert, "o1")
	err = idem.CompleteBatch(storagefirst.WithClaim(ctx, stale), b.pool, &batch, storagefirst.Outcome{})
	require.ErrorIs(t, err, storagefirst.ErrLeaseLost)
	var n int
	require.NoError(t, b.pool.QueryRow(ctx, "SELECT count(*) FROM "+b.schema+".orders").Scan(&n))
	require.Zero(t, n, "the effect went with the failed completion")

	// Through the middleware: applied and recorded together, Complete skipped.
	h := idempotent(t, storagefirst.IdempotentConfig{Store: idem, Scope: "orders"})(
		storagefirst.HandlerFunc(func(ctx context.Context, env storagefirst.Envelope) error {
			var batch pgx.Batch
			batch.Queue(insert, env.ID)
			return idem.CompleteBatch(ctx, b.pool, &batch, storagefirst.Outcome{})
		}))
	env := newEnvs(t, 1)[0]
	require.NoError(t, h.Handle(ctx, env))
	require.NoError(t, h.Handle(ctx, env))
	require.NoError(t, b.pool.QueryRow(ctx, "SELECT count(*) FROM "+b.schema+".orders").Scan(&n))
	require.Equal(t, 1, n)
	r, err := idem.Get(ctx, "orders", env.ID)
	require.NoError(t, err)
	require.Equal(t, storagefirst.IdempotencyCompleted, r.State)
}

// TestPasswordAuthIsPerEndpointAndUser: a password (an RDS IAM token) is good for
// one endpoint and user, so one is reused only for the same pair; with no reuse
// period every connection asks.
func TestPasswordAuthIsPerEndpointAndUser(t *testing.T) {
	t.Parallel()
	for _, reuse := range []time.Duration{time.Hour, 0} {
		cfg, err := pgxpool.ParseConfig("postgres://a@h1:5432/db")
		require.NoError(t, err)
		var asked []string
		pgstore.PasswordAuth(cfg, func(_ context.Context, endpoint, user string) (string, error) {
			asked = append(asked, endpoint+" "+user)
			return "pw " + endpoint + " " + user, nil
		}, reuse)
		for _, c := range []struct {
			host string
			port uint16
			user string
		}{{"h1", 5432, "a"}, {"h2", 5432, "a"}, {"h1", 5433, "a"}, {"h1", 5432, "b"}, {"h1", 5432, "a"}, {"h2", 5432, "a"}, {"::1", 5432, "a"}} {
			cc := cfg.ConnConfig.Copy()
			cc.Host, cc.Port, cc.User = c.host, c.port, c.user
			require.NoError(t, cfg.BeforeConnect(context.Background(), cc))
			require.Equal(t, fmt.Sprintf("pw %s %s", net.JoinHostPort(c.host, fmt.Sprint(c.port)), c.user), cc.Password)
		}
		want := 5
		if reuse == 0 {
			want = 7
		}
		require.Len(t, asked, want, "reuse %v: %v", reuse, asked)
	}
}
