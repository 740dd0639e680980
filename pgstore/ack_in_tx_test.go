package pgstore_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/pgstore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// effectFixture is a queue, its store's idempotency records and an effects table
// in one schema: the exactly-once path with queue and effect in one database.
type effectFixture struct {
	b      *bundle
	q      *pgstore.Queue
	idem   *pgstore.IdempotencyStore
	insert string
}

func newEffectFixture(t *testing.T) *effectFixture { return newEffectFixtureOn(t, setup(t)) }

func newEffectFixtureOn(t *testing.T, b *bundle) *effectFixture {
	table := pgx.Identifier{b.schema, "effects"}.Sanitize()
	_, err := b.pool.Exec(testCtx(t), "CREATE TABLE "+table+" (key text PRIMARY KEY, envelope_id text NOT NULL)")
	require.NoError(t, err)
	return &effectFixture{b: b, q: b.queue(t, "effects"), idem: b.store.Idempotency(),
		insert: "INSERT INTO " + table + " (key, envelope_id) VALUES ($1, $2)"}
}

// bothEffectFixtures runs f, in parallel subtests, on an effect fixture with
// each IdempotencyStore flavour: the Store's, and NewIdempotencyStore's on the
// same pool and schema.
func bothEffectFixtures(t *testing.T, f func(t *testing.T, fx *effectFixture)) {
	bothIdempotencyStores(t, func(t *testing.T, b *bundle, idem *pgstore.IdempotencyStore) {
		fx := newEffectFixtureOn(t, b)
		fx.idem = idem
		f(t, fx)
	})
}

// txEffect is the documented handler: the effect and CompleteFromContext in one
// transaction. after, if set, runs in the transaction after the completion; its
// error rolls the transaction back.
func (f *effectFixture) txEffect(after func(ctx context.Context, tx pgx.Tx) error) storagefirst.HandlerFunc {
	return func(ctx context.Context, e storagefirst.Envelope) error {
		return pgx.BeginFunc(ctx, f.b.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, f.insert, e.Key(), e.ID); err != nil {
				return err
			}
			if err := f.idem.CompleteFromContext(ctx, tx); err != nil {
				return err
			}
			if after != nil {
				return after(ctx, tx)
			}
			return nil
		})
	}
}

func (f *effectFixture) count(t *testing.T, sql string, args ...any) int {
	var n int
	require.NoError(t, f.b.pool.QueryRow(testCtx(t), sql, args...).Scan(&n))
	return n
}

func (f *effectFixture) effects(t *testing.T) int {
	return f.count(t, "SELECT count(*) FROM "+pgx.Identifier{f.b.schema, "effects"}.Sanitize())
}

func (f *effectFixture) envelopes(t *testing.T) int {
	return f.count(t, "SELECT count(*) FROM "+pgx.Identifier{f.b.schema, "envelopes"}.Sanitize())
}

// claimOne puts one envelope and claims it; it returns the envelope, its lease
// and a context carrying the lease as a Consumer's handler context would.
func (f *effectFixture) claimOne(t *testing.T) (storagefirst.Envelope, storagefirst.Lease, context.Context) {
	ctx := testCtx(t)
	e, err := storagefirst.NewEnvelope("t.effect", []byte(`{"n":1}`))
	require.NoError(t, err)
	require.NoError(t, f.q.Put(ctx, e))
	ds, err := f.q.Claim(ctx, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	return ds[0].Envelope, ds[0].Lease, storagefirst.WithDeliveryLease(ctx, f.q, ds[0].Lease, nil)
}

// TestConsumerAcksInTheHandlersTransaction: behind Idempotent, under a Consumer of
// a queue of the same store, CompleteFromContext acknowledges the delivery in the
// handler's transaction: every envelope is acked (reported so, with no answer
// error), the effect and the record are stored once each, the queue is empty, and
// no acknowledgement went through the Consumer's own Ack.
//
// The same holds for an IdempotencyStore of NewIdempotencyStore on the queue's
// pool and schema.
func TestConsumerAcksInTheHandlersTransaction(t *testing.T) {
	t.Parallel()
	bothEffectFixtures(t, consumerAcksInTheHandlersTransaction)
}

func consumerAcksInTheHandlersTransaction(t *testing.T, f *effectFixture) {
	ctx := testCtx(t)
	const n = 60
	envs := make([]storagefirst.Envelope, n)
	for i := range envs {
		e, err := storagefirst.NewEnvelope("t.effect", fmt.Appendf(nil, `{"i":%d}`, i))
		require.NoError(t, err)
		envs[i] = e
	}
	require.NoError(t, f.q.Put(ctx, envs...))
	var (
		mu       sync.Mutex
		actions  = map[storagefirst.Action]int{}
		answered = make(chan struct{})
	)
	inner := f.txEffect(nil)
	marked := make(chan bool, n)
	effect := storagefirst.HandlerFunc(func(ctx context.Context, e storagefirst.Envelope) error {
		err := inner(ctx, e)
		marked <- storagefirst.AckedInContext(ctx)
		return err
	})
	cons, err := storagefirst.NewConsumer(storagefirst.ConsumerConfig{
		Queue:   f.q,
		Handler: storagefirst.Chain(effect, mustIdempotent(t, storagefirst.IdempotentConfig{Store: f.idem})),
		Workers: 16, PollInterval: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler),
		OnProcessed: func(_ context.Context, p storagefirst.Processed) {
			mu.Lock()
			defer mu.Unlock()
			if p.AnswerErr != nil {
				actions["answer error: "+storagefirst.Action(p.AnswerErr.Error())]++
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
		mu.Lock()
		defer mu.Unlock()
		require.FailNow(t, "not every envelope was acked", "%v", actions)
	}
	stop()
	require.NoError(t, <-done)
	mu.Lock()
	require.Equal(t, map[storagefirst.Action]int{storagefirst.ActionAcked: n}, actions)
	mu.Unlock()
	for range n {
		require.True(t, <-marked, "the completion acknowledged the delivery in the transaction")
	}
	require.Equal(t, n, f.effects(t))
	require.Equal(t, 0, f.envelopes(t))
	require.Equal(t, n, f.count(t, "SELECT count(*) FROM "+pgx.Identifier{f.b.schema, "idempotency"}.Sanitize()+" WHERE state = 'completed'"))
	st := f.b.store.BatchStats()
	require.Zero(t, st.Acks, "no acknowledgement outside the handlers' transactions")
}

// TestAckInTxRollbackLeavesEnvelopeAndKey: when the handler's transaction rolls
// back after the completion (which acknowledged the delivery in it), nothing of it
// remains: no effect, the envelope still held under its lease (the Consumer's own
// answer still works), and the key free again.
func TestAckInTxRollbackLeavesEnvelopeAndKey(t *testing.T) {
	t.Parallel()
	f := newEffectFixture(t)
	env, lease, ctx := f.claimOne(t)
	h := storagefirst.Chain(f.txEffect(func(context.Context, pgx.Tx) error {
		return storagefirst.Retryable(fmt.Errorf("something after the completion failed"))
	}), mustIdempotent(t, storagefirst.IdempotentConfig{Store: f.idem}))
	ctx = givenTo(ctx, h)
	require.Error(t, h.Handle(ctx, env))
	require.True(t, storagefirst.AckedInContext(ctx), "the completion acknowledged in the transaction")
	require.Equal(t, 0, f.effects(t))
	require.Equal(t, 1, f.envelopes(t))
	res, err := f.idem.Begin(ctx, storagefirst.IdempotencyScopeDefault, env.Key(), "", time.Minute)
	require.NoError(t, err)
	require.True(t, res.Acquired, "the key is free")
	require.NoError(t, f.q.Retry(ctx, lease, 0, storagefirst.NewFailure(1, time.Now(), err)), "the lease still holds the envelope")
}

// TestAckInTxLostLeaseFailsTheCommit: when the queue lease was lost (another
// consumer claimed the envelope after it expired), the completion fails with
// ErrLeaseLost and the transaction cannot commit, even if the handler ignores the
// error: no effect, no completed record, the envelope with its new holder.
func TestAckInTxLostLeaseFailsTheCommit(t *testing.T) {
	t.Parallel()
	f := newEffectFixture(t)
	env, lease, ctx := f.claimOne(t)
	// Another consumer's claim: a new token on the envelope.
	_, err := f.b.pool.Exec(ctx, "UPDATE "+pgx.Identifier{f.b.schema, "envelopes"}.Sanitize()+
		" SET lease_token = nextval('"+f.b.schema+".tokens') WHERE id = $1", env.ID)
	require.NoError(t, err)

	var completeErr error
	ignoring := storagefirst.HandlerFunc(func(ctx context.Context, e storagefirst.Envelope) error {
		tx, err := f.b.pool.Begin(ctx)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
		if _, err := tx.Exec(ctx, f.insert, e.Key(), e.ID); err != nil {
			return err
		}
		completeErr = f.idem.CompleteFromContext(ctx, tx) // ignored
		return tx.Commit(ctx)
	})
	h := storagefirst.Chain(ignoring, mustIdempotent(t, storagefirst.IdempotentConfig{Store: f.idem}))
	ctx = givenTo(ctx, h)
	err = h.Handle(ctx, env)
	require.ErrorIs(t, completeErr, storagefirst.ErrLeaseLost)
	require.Error(t, err, "the commit fails")
	require.False(t, storagefirst.AckedInContext(ctx))
	require.Equal(t, 0, f.effects(t))
	require.Equal(t, 1, f.envelopes(t))
	r, err := f.idem.Get(ctx, storagefirst.IdempotencyScopeDefault, env.Key())
	require.NoError(t, err)
	require.NotEqual(t, storagefirst.IdempotencyCompleted, r.State)
	require.ErrorIs(t, f.q.Ack(ctx, lease), storagefirst.ErrLeaseLost)
}

// TestAckInTxCompleteBatch: CompleteBatch acknowledges the delivery in its
// implicit transaction too.
func TestAckInTxCompleteBatch(t *testing.T) {
	t.Parallel()
	f := newEffectFixture(t)
	env, lease, ctx := f.claimOne(t)
	h := storagefirst.Chain(storagefirst.HandlerFunc(func(ctx context.Context, e storagefirst.Envelope) error {
		var b pgx.Batch
		b.Queue(f.insert, e.Key(), e.ID)
		return f.idem.CompleteBatch(ctx, f.b.pool, &b, storagefirst.Outcome{})
	}), mustIdempotent(t, storagefirst.IdempotentConfig{Store: f.idem}))
	ctx = givenTo(ctx, h)
	require.NoError(t, h.Handle(ctx, env))
	require.True(t, storagefirst.AckedInContext(ctx))
	require.Equal(t, 1, f.effects(t))
	require.Equal(t, 0, f.envelopes(t))
	require.ErrorIs(t, f.q.Ack(ctx, lease), storagefirst.ErrLeaseLost, "acknowledged already")
}

// TestAckInTxOnlyForTheSameStore: a queue of another store (another schema) is not
// acknowledged by the completion: its envelopes are not in the transaction's
// database tables, and the Consumer acknowledges as usual.
func TestAckInTxOnlyForTheSameStore(t *testing.T) {
	t.Parallel()
	bothEffectFixtures(t, ackInTxOnlyForTheSameStore)
}

func ackInTxOnlyForTheSameStore(t *testing.T, f *effectFixture) {
	other := setup(t)
	oq := other.queue(t, "elsewhere")
	ctx := testCtx(t)
	e, err := storagefirst.NewEnvelope("t.effect", []byte(`{"n":2}`))
	require.NoError(t, err)
	require.NoError(t, oq.Put(ctx, e))
	ds, err := oq.Claim(ctx, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	hctx := storagefirst.WithDeliveryLease(ctx, oq, ds[0].Lease, nil)
	h := storagefirst.Chain(f.txEffect(nil), mustIdempotent(t, storagefirst.IdempotentConfig{Store: f.idem}))
	hctx = givenTo(hctx, h)
	require.NoError(t, h.Handle(hctx, ds[0].Envelope))
	require.False(t, storagefirst.AckedInContext(hctx))
	require.Equal(t, 1, f.effects(t))
	require.NoError(t, oq.Ack(ctx, ds[0].Lease), "still the Consumer's to acknowledge")
}

// TestAckInTxNeedsSamePoolAndSchema: an IdempotencyStore of NewIdempotencyStore
// acknowledges a delivery of a Queue only when both use the same pool and the
// same schema; with either differing, the completion only records, and the
// Consumer acknowledges as usual.
func TestAckInTxNeedsSamePoolAndSchema(t *testing.T) {
	t.Parallel()
	f := newEffectFixture(t)
	otherSchema := setup(t)
	otherPool := newPool(t, f.b.url)
	for name, idemOn := range map[string]func() (*pgstore.IdempotencyStore, error){
		"same pool, other schema": func() (*pgstore.IdempotencyStore, error) {
			return pgstore.NewIdempotencyStore(f.b.pool, pgstore.Config{Schema: otherSchema.schema})
		},
		"other pool, same schema": func() (*pgstore.IdempotencyStore, error) {
			return pgstore.NewIdempotencyStore(otherPool, pgstore.Config{Schema: f.b.schema})
		},
	} {
		t.Run(name, func(t *testing.T) {
			idem, err := idemOn()
			require.NoError(t, err)
			env, lease, hctx := f.claimOne(t)
			effect := storagefirst.HandlerFunc(func(ctx context.Context, e storagefirst.Envelope) error {
				return pgx.BeginFunc(ctx, f.b.pool, func(tx pgx.Tx) error {
					return idem.CompleteFromContext(ctx, tx)
				})
			})
			h := storagefirst.Chain(effect, mustIdempotent(t, storagefirst.IdempotentConfig{Store: idem}))
			hctx = givenTo(hctx, h)
			require.NoError(t, h.Handle(hctx, env))
			require.False(t, storagefirst.AckedInContext(hctx), "not acknowledged by the completion")
			require.NoError(t, f.q.Ack(testCtx(t), lease), "still the Consumer's to acknowledge")
		})
	}
}

// TestQueueAckTx: AckTx acknowledges in the caller's transaction (gone only once it
// commits), tells the Consumer so, and fails a transaction whose lease is lost.
func TestQueueAckTx(t *testing.T) {
	t.Parallel()
	f := newEffectFixture(t)
	_, lease, ctx := f.claimOne(t)
	tx, err := f.b.pool.Begin(ctx)
	require.NoError(t, err)
	require.NoError(t, f.q.AckTx(ctx, tx, lease))
	require.True(t, storagefirst.AckedInContext(ctx))
	require.Equal(t, 1, f.envelopes(t), "not before the commit")
	require.NoError(t, tx.Rollback(ctx))
	require.Equal(t, 1, f.envelopes(t))

	tx, err = f.b.pool.Begin(ctx)
	require.NoError(t, err)
	require.NoError(t, f.q.AckTx(ctx, tx, lease))
	require.NoError(t, tx.Commit(ctx))
	require.Equal(t, 0, f.envelopes(t))

	tx, err = f.b.pool.Begin(ctx)
	require.NoError(t, err)
	require.ErrorIs(t, f.q.AckTx(ctx, tx, lease), storagefirst.ErrLeaseLost)
	require.Error(t, tx.Commit(ctx), "a failed acknowledgement fails the transaction")
}

func mustIdempotent(t *testing.T, cfg storagefirst.IdempotentConfig) storagefirst.Middleware {
	t.Helper()
	mw, err := storagefirst.Idempotent(cfg)
	require.NoError(t, err)
	return mw
}

// givenTo returns ctx with its delivery given to h whole, as a Consumer of h gives
// it (storagefirst.WithDeliveryLease): only then does h's Idempotent scope
// acknowledge the delivery in its transaction.
func givenTo(ctx context.Context, h storagefirst.Handler) context.Context {
	q, l, _ := storagefirst.DeliveryLeaseFromContext(ctx)
	return storagefirst.WithDeliveryLease(ctx, q, l, h)
}
