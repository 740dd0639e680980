package sqlitestore_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// scope returns an Idempotent scope whose handler writes the effect key+suffix
// and completes its claim in the same WriteTx; fail, if set, fails it after.
func (f *sqliteEffects) scope(t *testing.T, name, suffix string) storagefirst.Handler {
	t.Helper()
	idempotent, err := storagefirst.Idempotent(storagefirst.IdempotentConfig{Store: f.idem, Scope: name})
	require.NoError(t, err)
	return storagefirst.Chain(storagefirst.HandlerFunc(func(ctx context.Context, e storagefirst.Envelope) error {
		return f.s.WriteTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO effects VALUES (?, ?)`, e.Key()+suffix, e.ID); err != nil {
				return err
			}
			return f.idem.CompleteFromContext(ctx, tx)
		})
	}), idempotent)
}

// TestAckInTxTwoSiblingScopes: two Idempotent scopes run in turn for one delivery
// both apply their effect; neither acknowledges the delivery, the Consumer does.
func TestAckInTxTwoSiblingScopes(t *testing.T) {
	t.Parallel()
	f := newSqliteEffects(t)
	e, lease, ctx := f.claimOne(t)
	a, b := f.scope(t, "billing", "-billing"), f.scope(t, "email", "-email")
	fanOut := storagefirst.HandlerFunc(func(ctx context.Context, e storagefirst.Envelope) error {
		return errors.Join(a.Handle(ctx, e), b.Handle(ctx, e))
	})
	ctx = givenTo(ctx, fanOut)
	require.NoError(t, fanOut.Handle(ctx, e))
	require.Equal(t, 2, f.count(t, "effects"), "both scopes' effects")
	require.Equal(t, 1, f.count(t, "envelopes"))
	require.False(t, storagefirst.AckedInContext(ctx))
	require.NoError(t, f.q.Ack(ctx, lease))
}

// TestAckInTxStaleMarkAcrossRetry: an attempt whose transaction acknowledged and
// then rolled back does not leave the delivery marked acknowledged for a later
// attempt (Retry) that succeeds without acknowledging.
func TestAckInTxStaleMarkAcrossRetry(t *testing.T) {
	t.Parallel()
	f := newSqliteEffects(t)
	e, lease, ctx := f.claimOne(t)
	retry, err := storagefirst.Retry(storagefirst.RetryConfig{Policy: storagefirst.RetryPolicy{MaxRetries: 2, Interval: 1}})
	require.NoError(t, err)
	idempotent, err := storagefirst.Idempotent(storagefirst.IdempotentConfig{Store: f.idem})
	require.NoError(t, err)
	n := 0
	h := storagefirst.Chain(storagefirst.HandlerFunc(func(ctx context.Context, e storagefirst.Envelope) error {
		n++
		if n > 1 {
			return nil
		}
		return storagefirst.Retryable(f.s.WriteTx(ctx, func(tx *sql.Tx) error {
			if err := f.idem.CompleteFromContext(ctx, tx); err != nil {
				return err
			}
			return errors.New("fails after the completion")
		}))
	}), retry, idempotent)
	ctx = givenTo(ctx, h)
	require.NoError(t, h.Handle(ctx, e))
	require.Equal(t, 2, n)
	require.False(t, storagefirst.AckedInContext(ctx))
	require.Equal(t, 1, f.count(t, "envelopes"))
	r, err := f.idem.Get(ctx, storagefirst.IdempotencyScopeDefault, e.Key())
	require.NoError(t, err)
	require.Equal(t, storagefirst.IdempotencyCompleted, r.State)
	require.NoError(t, f.q.Ack(ctx, lease))
}

// TestAckInTxCompleteTwice: completing twice in one WriteTx, or AckTx and then
// the completion, succeeds; another transaction still finds the lease gone.
func TestAckInTxCompleteTwice(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"complete twice", "AckTx then complete"} {
		t.Run(name, func(t *testing.T) {
			f := newSqliteEffects(t)
			e, lease, ctx := f.claimOne(t)
			idempotent, err := storagefirst.Idempotent(storagefirst.IdempotentConfig{Store: f.idem})
			require.NoError(t, err)
			h := storagefirst.Chain(storagefirst.HandlerFunc(func(ctx context.Context, e storagefirst.Envelope) error {
				return f.s.WriteTx(ctx, func(tx *sql.Tx) error {
					if _, err := tx.ExecContext(ctx, `INSERT INTO effects VALUES (?, ?)`, e.Key(), e.ID); err != nil {
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
			}), idempotent)
			ctx = givenTo(ctx, h)
			require.NoError(t, h.Handle(ctx, e))
			require.True(t, storagefirst.AckedInContext(ctx))
			require.Equal(t, 1, f.count(t, "effects"))
			require.Equal(t, 0, f.count(t, "envelopes"))
			err = f.s.WriteTx(ctx, func(tx *sql.Tx) error { return f.q.AckTx(ctx, tx, lease) })
			require.ErrorIs(t, err, storagefirst.ErrLeaseLost, "another transaction still finds the lease gone")
		})
	}
}
