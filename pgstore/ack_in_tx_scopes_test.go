package pgstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sfotel"
)

// scopeEffect is a sub-handler writing the effect key+suffix and completing the
// claim in ctx in the same transaction.
func (f *effectFixture) scopeEffect(suffix string) storagefirst.Handler {
	return storagefirst.HandlerFunc(func(ctx context.Context, e storagefirst.Envelope) error {
		return pgx.BeginFunc(ctx, f.b.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, f.insert, e.Key()+suffix, e.ID); err != nil {
				return err
			}
			return f.idem.CompleteFromContext(ctx, tx)
		})
	})
}

// TestAckInTxTwoSiblingScopes: a handler that runs two Idempotent scopes in turn
// for one delivery gets both effects; neither scope acknowledges the delivery in
// its transaction (the first would lose the second's effect), the Consumer does.
func TestAckInTxTwoSiblingScopes(t *testing.T) {
	t.Parallel()
	f := newEffectFixture(t)
	e, lease, ctx := f.claimOne(t)
	a := storagefirst.Chain(f.scopeEffect("-billing"), mustIdempotent(t, storagefirst.IdempotentConfig{Store: f.idem, Scope: "billing"}))
	b := storagefirst.Chain(f.scopeEffect("-email"), mustIdempotent(t, storagefirst.IdempotentConfig{Store: f.idem, Scope: "email"}))
	fanOut := storagefirst.HandlerFunc(func(ctx context.Context, e storagefirst.Envelope) error {
		return errors.Join(a.Handle(ctx, e), b.Handle(ctx, e))
	})
	ctx = givenTo(ctx, fanOut)
	require.NoError(t, fanOut.Handle(ctx, e))
	require.Equal(t, 2, f.effects(t), "both scopes' effects")
	require.Equal(t, 1, f.envelopes(t), "not acknowledged by either scope")
	require.False(t, storagefirst.AckedInContext(ctx))
	require.NoError(t, f.q.Ack(ctx, lease), "the Consumer's to acknowledge")
}

// TestAckInTxNestedScopes: an Idempotent scope inside the one the delivery is
// given to only records; the outer one's completion acknowledges.
func TestAckInTxNestedScopes(t *testing.T) {
	t.Parallel()
	f := newEffectFixture(t)
	e, _, ctx := f.claimOne(t)
	inner := storagefirst.Chain(f.scopeEffect("-email"), mustIdempotent(t, storagefirst.IdempotentConfig{Store: f.idem, Scope: "email"}))
	h := storagefirst.Chain(storagefirst.HandlerFunc(func(ctx context.Context, e storagefirst.Envelope) error {
		if err := inner.Handle(ctx, e); err != nil {
			return err
		}
		return f.scopeEffect("-billing").Handle(ctx, e)
	}), mustIdempotent(t, storagefirst.IdempotentConfig{Store: f.idem, Scope: "billing"}))
	ctx = givenTo(ctx, h)
	require.NoError(t, h.Handle(ctx, e))
	require.Equal(t, 2, f.effects(t))
	require.Equal(t, 0, f.envelopes(t), "acknowledged with the outer scope's completion")
	require.True(t, storagefirst.AckedInContext(ctx))
}

// TestAckInTxBehindRetry: the delivery given to a Retry around Idempotent is
// still acknowledged in the handler's transaction; an attempt that acknowledged
// in a transaction that rolled back does not leave the Consumer believing so
// when a later attempt succeeds without acknowledging.
func TestAckInTxBehindRetry(t *testing.T) {
	t.Parallel()
	retry, err := storagefirst.Retry(storagefirst.RetryConfig{Policy: storagefirst.RetryPolicy{MaxRetries: 2, Interval: 1}})
	require.NoError(t, err)

	t.Run("acks", func(t *testing.T) {
		f := newEffectFixture(t)
		e, _, ctx := f.claimOne(t)
		h := storagefirst.Chain(f.txEffect(nil), mustIdempotent(t, storagefirst.IdempotentConfig{Store: f.idem}), retry)
		ctx = givenTo(ctx, h)
		require.NoError(t, h.Handle(ctx, e))
		require.True(t, storagefirst.AckedInContext(ctx))
		require.Equal(t, 0, f.envelopes(t))
	})
	t.Run("stale mark", func(t *testing.T) {
		f := newEffectFixture(t)
		e, lease, ctx := f.claimOne(t)
		n := 0
		inner := storagefirst.HandlerFunc(func(ctx context.Context, e storagefirst.Envelope) error {
			n++
			if n == 1 {
				return storagefirst.Retryable(pgx.BeginFunc(ctx, f.b.pool, func(tx pgx.Tx) error {
					if err := f.idem.CompleteFromContext(ctx, tx); err != nil {
						return err
					}
					return errors.New("serialization failure at commit")
				}))
			}
			return nil // the second attempt finds nothing to do
		})
		h := storagefirst.Chain(inner, retry, mustIdempotent(t, storagefirst.IdempotentConfig{Store: f.idem}))
		ctx = givenTo(ctx, h)
		require.NoError(t, h.Handle(ctx, e))
		require.Equal(t, 2, n)
		require.False(t, storagefirst.AckedInContext(ctx), "the acknowledgement rolled back")
		require.Equal(t, 1, f.envelopes(t))
		r, err := f.idem.Get(ctx, storagefirst.IdempotencyScopeDefault, e.Key())
		require.NoError(t, err)
		require.Equal(t, storagefirst.IdempotencyCompleted, r.State, "the middleware recorded the success itself")
		require.NoError(t, f.q.Ack(ctx, lease))
	})
}

// TestAckInTxCompleteTwice: completing twice in one transaction (a helper that
// completes, called from a wrapper that completes too), or AckTx and then the
// completion, succeeds: the acknowledgement is idempotent within a transaction.
func TestAckInTxCompleteTwice(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"complete twice", "AckTx then complete"} {
		t.Run(name, func(t *testing.T) {
			f := newEffectFixture(t)
			e, lease, ctx := f.claimOne(t)
			h := storagefirst.Chain(storagefirst.HandlerFunc(func(ctx context.Context, e storagefirst.Envelope) error {
				return pgx.BeginFunc(ctx, f.b.pool, func(tx pgx.Tx) error {
					if _, err := tx.Exec(ctx, f.insert, e.Key(), e.ID); err != nil {
						return err
					}
					first := func() error { return f.idem.CompleteFromContext(ctx, tx) }
					if name != "complete twice" {
						first = func() error { return f.q.AckTx(ctx, tx, lease) }
					}
					if err := first(); err != nil {
						return err
					}
					return f.idem.CompleteFromContext(ctx, tx)
				})
			}), mustIdempotent(t, storagefirst.IdempotentConfig{Store: f.idem}))
			ctx = givenTo(ctx, h)
			require.NoError(t, h.Handle(ctx, e))
			require.True(t, storagefirst.AckedInContext(ctx))
			require.Equal(t, 1, f.effects(t))
			require.Equal(t, 0, f.envelopes(t))
			tx, err := f.b.pool.Begin(ctx)
			require.NoError(t, err)
			defer func() { _ = tx.Rollback(ctx) }()
			require.ErrorIs(t, f.q.AckTx(ctx, tx, lease), storagefirst.ErrLeaseLost, "another transaction still finds the lease gone")
		})
	}
}

// TestAckInTxBehindTheTracingMiddleware: sfotel's consumer middleware hands the
// delivery on whole, so an Idempotent behind it still acknowledges in the
// handler's transaction (one commit), as the README's tracing example wires it.
func TestAckInTxBehindTheTracingMiddleware(t *testing.T) {
	t.Parallel()
	inst, err := sfotel.New(sfotel.Config{})
	require.NoError(t, err)
	f := newEffectFixture(t)
	e, _, ctx := f.claimOne(t)
	h := storagefirst.Chain(f.txEffect(nil), inst.Middleware("orders"), mustIdempotent(t, storagefirst.IdempotentConfig{Store: f.idem}))
	ctx = givenTo(ctx, h)
	require.NoError(t, h.Handle(ctx, e))
	require.True(t, storagefirst.AckedInContext(ctx), "acknowledged in the handler's transaction")
	require.Equal(t, 0, f.envelopes(t))
}
