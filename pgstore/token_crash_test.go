package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// loseSequenceAdvance simulates what a database crash can do to bookkeeping that
// commits asynchronously: the tokens sequence goes back to an earlier state, as if
// its last advances (and the claims that made them) were never written.
func (b *bundle) loseSequenceAdvance(t *testing.T, ctx context.Context) (restore func()) {
	var last int64
	var called bool
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT last_value, is_called FROM `+b.schema+`.tokens`).Scan(&last, &called))
	return func() {
		_, err := b.pool.Exec(ctx, `SELECT setval($1, $2, $3)`, b.schema+".tokens", last, called)
		require.NoError(t, err)
	}
}

// TestTokensDoNotRepeatAfterALostSequenceAdvance: when a crash loses a claim
// together with the sequence advance it made, the next claim of the same envelope
// (or key) gets another token, so the lost claim's holder, still running, is
// fenced: its Ack and its Complete fail with ErrLeaseLost.
func TestTokensDoNotRepeatAfterALostSequenceAdvance(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := testCtx(t)
	q := b.queue(t, "orders")
	env, err := storagefirst.NewEnvelope("test", []byte(`{}`))
	require.NoError(t, err)
	require.NoError(t, q.Put(ctx, env))

	crash := b.loseSequenceAdvance(t, ctx)
	ds, err := q.Claim(ctx, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	stale := ds[0].Lease
	// The crash: the claim's row change and the sequence's advance are lost.
	_, err = b.pool.Exec(ctx, `UPDATE `+b.schema+`.envelopes SET state = 0, lease_token = NULL, attempt = 0,
		available_at = now() WHERE id = $1`, env.ID)
	require.NoError(t, err)
	crash()
	ds, err = q.Claim(ctx, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.NotEqual(t, stale.Token, ds[0].Lease.Token, "a re-issued sequence value is another token")
	require.ErrorIs(t, q.Ack(ctx, stale), storagefirst.ErrLeaseLost)
	require.NoError(t, q.Ack(ctx, ds[0].Lease))

	idem := b.store.Idempotency()
	crash = b.loseSequenceAdvance(t, ctx)
	r, err := idem.Begin(ctx, "s", "k", "", time.Minute)
	require.NoError(t, err)
	staleClaim := r.Claim
	_, err = b.pool.Exec(ctx, `DELETE FROM `+b.schema+`.idempotency WHERE scope = 's' AND key = 'k'`)
	require.NoError(t, err)
	crash()
	r, err = idem.Begin(ctx, "s", "k", "", time.Minute)
	require.NoError(t, err)
	require.NotEqual(t, staleClaim.Token, r.Claim.Token)
	require.ErrorIs(t, idem.Complete(ctx, staleClaim, storagefirst.Outcome{}, time.Hour), storagefirst.ErrLeaseLost)
	require.NoError(t, idem.Complete(ctx, r.Claim, storagefirst.Outcome{}, time.Hour))
}
