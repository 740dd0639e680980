package sftest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// testReopenInFlight reopens a backend while it holds two leases (one short, one
// long) and two idempotency records (one completed, one in progress). After the
// reopen the completed record is still there with its outcome, and the leases
// either survive (they hold, the short one expires and is redelivered, and the
// stale holder is fenced) or, for a backend that releases them on reopen
// (QueueFeatures.ReopenReleasesLeases), are given back at once and fenced. No
// fencing token is handed out twice across the reopen.
func testReopenInFlight(t *testing.T, q QueueBackend, f QueueFeatures) {
	ctx := suiteCtx(t)
	in := envs(t, 2)
	require.NoError(t, q.Put(ctx, in...))
	short := claimOne(t, ctx, q, shortLease)
	long := claimOne(t, ctx, q, time.Minute)
	require.Equal(t, in[0].ID, short.Envelope.ID)
	require.Equal(t, in[1].ID, long.Envelope.ID)
	var idem storagefirst.IdempotencyStore
	var held storagefirst.Claim
	if f.Idempotency != nil {
		idem = f.Idempotency(t, q)
		done := begin(t, ctx, idem, "done", "fp", time.Minute)
		require.NoError(t, idem.Complete(ctx, done, storagefirst.Outcome{Result: []byte(`{"ok":true}`)}, time.Hour))
		held = begin(t, ctx, idem, "held", "fp", time.Minute)
	}

	q = f.Reopen(t, q)

	if f.ReopenReleasesLeases {
		ds, err := q.Claim(ctx, 10, time.Minute)
		require.NoError(t, err)
		require.Len(t, ds, 2, "released leases are due at once")
		for i, d := range ds {
			require.Equal(t, in[i].ID, d.Envelope.ID)
			require.Equal(t, 2, d.Envelope.Attempt, "the released attempt stays counted")
			require.Greater(t, d.Lease.Token, long.Lease.Token, "a token handed out again")
		}
		require.ErrorIs(t, q.Ack(ctx, short.Lease), storagefirst.ErrLeaseLost)
		_, err = q.Extend(ctx, long.Lease, time.Minute)
		require.ErrorIs(t, err, storagefirst.ErrLeaseLost)
		for _, d := range ds {
			require.NoError(t, q.Ack(ctx, d.Lease))
		}
	} else {
		// The long lease holds: still its holder's to extend and acknowledge.
		_, err := q.Extend(ctx, long.Lease, time.Minute)
		require.NoError(t, err)
		// The short one runs out and is delivered again, never the long one.
		again := claimOne(t, ctx, q, time.Minute)
		require.Equal(t, in[0].ID, again.Envelope.ID)
		require.Equal(t, 2, again.Envelope.Attempt)
		require.Greater(t, again.Lease.Token, long.Lease.Token, "a token handed out again")
		require.ErrorIs(t, q.Ack(ctx, short.Lease), storagefirst.ErrLeaseLost, "the stale holder is fenced")
		require.NoError(t, q.Ack(ctx, again.Lease))
		require.NoError(t, q.Ack(ctx, long.Lease))
	}
	requireNone(t, ctx, q)

	if idem == nil {
		return
	}
	idem = f.Idempotency(t, q)
	res, err := idem.Begin(ctx, "scope", "done", "fp", time.Minute)
	require.NoError(t, err)
	require.False(t, res.Acquired, "the completed record survives the reopen")
	require.Equal(t, storagefirst.IdempotencyCompleted, res.Record.State)
	require.JSONEq(t, `{"ok":true}`, string(res.Record.Outcome.Result))

	res, err = idem.Begin(ctx, "scope", "held", "fp", time.Minute)
	if f.ReopenReleasesLeases {
		require.NoError(t, err)
		require.True(t, res.Acquired, "a released claim is free")
		require.Greater(t, res.Claim.Token, held.Token)
		require.ErrorIs(t, idem.Complete(ctx, held, storagefirst.Outcome{}, time.Hour), storagefirst.ErrLeaseLost)
		require.NoError(t, idem.Complete(ctx, res.Claim, storagefirst.Outcome{}, time.Hour))
		return
	}
	require.ErrorIs(t, err, storagefirst.ErrInProgress, "the claim survives the reopen")
	require.Equal(t, held.Token, res.Record.Token)
	require.NoError(t, idem.Complete(ctx, held, storagefirst.Outcome{}, time.Hour))
}
