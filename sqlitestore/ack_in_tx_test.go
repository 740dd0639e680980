package sqlitestore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/sqlitestore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

type sqliteEffects struct {
	s    *sqlitestore.Store
	q    *sqlitestore.Queue
	idem *sqlitestore.IdempotencyStore
}

func newSqliteEffects(t *testing.T) *sqliteEffects {
	s := fresh(t)
	_, err := s.DB().ExecContext(context.Background(), `CREATE TABLE effects (key TEXT PRIMARY KEY, envelope_id TEXT NOT NULL)`)
	require.NoError(t, err)
	q, err := s.Queue("effects")
	require.NoError(t, err)
	return &sqliteEffects{s: s, q: q, idem: s.Idempotency()}
}

// handler is the documented one: the effect and CompleteFromContext in one
// WriteTx; fail, if set, fails the transaction after the completion.
func (f *sqliteEffects) handler(t *testing.T, fail error) storagefirst.Handler {
	t.Helper()
	idempotent, err := storagefirst.Idempotent(storagefirst.IdempotentConfig{Store: f.idem})
	require.NoError(t, err)
	return storagefirst.Chain(storagefirst.HandlerFunc(func(ctx context.Context, e storagefirst.Envelope) error {
		return f.s.WriteTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO effects VALUES (?, ?)`, e.Key(), e.ID); err != nil {
				return err
			}
			if err := f.idem.CompleteFromContext(ctx, tx); err != nil {
				return err
			}
			return fail
		})
	}), idempotent)
}

func (f *sqliteEffects) count(t *testing.T, table string) int {
	var n int
	require.NoError(t, f.s.DB().QueryRowContext(context.Background(), `SELECT count(*) FROM `+table).Scan(&n))
	return n
}

func (f *sqliteEffects) claimOne(t *testing.T) (storagefirst.Envelope, storagefirst.Lease, context.Context) {
	ctx := context.Background()
	e, err := storagefirst.NewEnvelope("t.effect", []byte(`{"n":1}`))
	require.NoError(t, err)
	require.NoError(t, f.q.Put(ctx, e))
	ds, err := f.q.Claim(ctx, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	return ds[0].Envelope, ds[0].Lease, storagefirst.WithDeliveryLease(ctx, f.q, ds[0].Lease, nil)
}

// TestConsumerAcksInTheHandlersTransaction: under a Consumer of a queue of the same
// store, CompleteFromContext acknowledges the delivery in the handler's WriteTx:
// every envelope is acked, once, with its effect and completed record.
func TestConsumerAcksInTheHandlersTransaction(t *testing.T) {
	t.Parallel()
	f := newSqliteEffects(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const n = 40
	for i := range n {
		e, err := storagefirst.NewEnvelope("t.effect", fmt.Appendf(nil, `{"i":%d}`, i))
		require.NoError(t, err)
		require.NoError(t, f.q.Put(ctx, e))
	}
	marked := make(chan bool, n)
	idempotent, err := storagefirst.Idempotent(storagefirst.IdempotentConfig{Store: f.idem})
	require.NoError(t, err)
	effect := storagefirst.HandlerFunc(func(ctx context.Context, e storagefirst.Envelope) error {
		err := f.s.WriteTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO effects VALUES (?, ?)`, e.Key(), e.ID); err != nil {
				return err
			}
			return f.idem.CompleteFromContext(ctx, tx)
		})
		marked <- storagefirst.AckedInContext(ctx)
		return err
	})
	var mu sync.Mutex
	actions := map[storagefirst.Action]int{}
	answered := make(chan struct{})
	cons, err := storagefirst.NewConsumer(storagefirst.ConsumerConfig{
		Queue: f.q, Workers: 8, PollInterval: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler),
		Handler: storagefirst.Chain(effect, idempotent),
		OnProcessed: func(_ context.Context, p storagefirst.Processed) {
			mu.Lock()
			defer mu.Unlock()
			if p.AnswerErr != nil {
				actions["answer error"]++
			} else {
				actions[p.Action]++
			}
			if actions[storagefirst.ActionAcked] == n {
				close(answered)
			}
		},
	})
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- cons.Run(runCtx) }()
	select {
	case <-answered:
	case <-ctx.Done():
		require.FailNow(t, "not every envelope was acked")
	}
	stop()
	require.NoError(t, <-done)
	mu.Lock()
	require.Equal(t, map[storagefirst.Action]int{storagefirst.ActionAcked: n}, actions)
	mu.Unlock()
	for range n {
		require.True(t, <-marked, "the completion acknowledged the delivery in the transaction")
	}
	require.Equal(t, n, f.count(t, "effects"))
	require.Equal(t, 0, f.count(t, "envelopes"))
}

// TestAckInTxRollbackLeavesEnvelopeAndKey: a transaction that fails after the
// completion leaves no effect, the envelope held under its lease and the key free.
func TestAckInTxRollbackLeavesEnvelopeAndKey(t *testing.T) {
	t.Parallel()
	f := newSqliteEffects(t)
	env, lease, ctx := f.claimOne(t)
	h := f.handler(t, storagefirst.Retryable(errors.New("after the completion")))
	ctx = givenTo(ctx, h)
	require.Error(t, h.Handle(ctx, env))
	require.True(t, storagefirst.AckedInContext(ctx))
	require.Equal(t, 0, f.count(t, "effects"))
	require.Equal(t, 1, f.count(t, "envelopes"))
	res, err := f.idem.Begin(ctx, storagefirst.IdempotencyScopeDefault, env.Key(), "", time.Minute)
	require.NoError(t, err)
	require.True(t, res.Acquired, "the key is free")
	require.NoError(t, f.q.Release(ctx, lease), "the lease still holds the envelope")
}

// TestAckInTxLostLease: when the queue lease was lost, the completion fails with
// ErrLeaseLost and WriteTx rolls back: no effect, no completed record.
func TestAckInTxLostLease(t *testing.T) {
	t.Parallel()
	f := newSqliteEffects(t)
	env, _, ctx := f.claimOne(t)
	_, err := f.s.DB().ExecContext(ctx, `UPDATE envelopes SET lease_token = lease_token + 1000 WHERE id = ?`, env.ID)
	require.NoError(t, err)
	h := f.handler(t, nil)
	ctx = givenTo(ctx, h)
	err = h.Handle(ctx, env)
	require.ErrorIs(t, err, storagefirst.ErrLeaseLost)
	require.False(t, storagefirst.AckedInContext(ctx))
	require.Equal(t, 0, f.count(t, "effects"))
	require.Equal(t, 1, f.count(t, "envelopes"))
	r, err := f.idem.Get(ctx, storagefirst.IdempotencyScopeDefault, env.Key())
	require.NoError(t, err)
	require.NotEqual(t, storagefirst.IdempotencyCompleted, r.State)
}

// TestQueueAckTx: AckTx acknowledges only when its transaction commits.
func TestQueueAckTx(t *testing.T) {
	t.Parallel()
	f := newSqliteEffects(t)
	_, lease, ctx := f.claimOne(t)
	rollback := errors.New("roll back")
	require.ErrorIs(t, f.s.WriteTx(ctx, func(tx *sql.Tx) error {
		require.NoError(t, f.q.AckTx(ctx, tx, lease))
		return rollback
	}), rollback)
	require.True(t, storagefirst.AckedInContext(ctx))
	require.Equal(t, 1, f.count(t, "envelopes"))
	require.NoError(t, f.s.WriteTx(ctx, func(tx *sql.Tx) error { return f.q.AckTx(ctx, tx, lease) }))
	require.Equal(t, 0, f.count(t, "envelopes"))
	require.ErrorIs(t, f.s.WriteTx(ctx, func(tx *sql.Tx) error { return f.q.AckTx(ctx, tx, lease) }), storagefirst.ErrLeaseLost)
}

// givenTo returns ctx with its delivery given to h whole, as a Consumer of h gives
// it (storagefirst.WithDeliveryLease): only then does h's Idempotent scope
// acknowledge the delivery in its transaction.
func givenTo(ctx context.Context, h storagefirst.Handler) context.Context {
	q, l, _ := storagefirst.DeliveryLeaseFromContext(ctx)
	return storagefirst.WithDeliveryLease(ctx, q, l, h)
}
