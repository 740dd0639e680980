package sftest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// leaseOps are the answers a lease holder gives, each run on one lease.
func leaseOps(q QueueBackend) []struct {
	name string
	run  func(ctx context.Context, l storagefirst.Lease) error
} {
	f := storagefirst.NewFailure(1, time.Now(), errors.New("x"))
	return []struct {
		name string
		run  func(ctx context.Context, l storagefirst.Lease) error
	}{
		{"Ack", func(ctx context.Context, l storagefirst.Lease) error { return q.Ack(ctx, l) }},
		{"Retry", func(ctx context.Context, l storagefirst.Lease) error { return q.Retry(ctx, l, 0, f) }},
		{"Release", func(ctx context.Context, l storagefirst.Lease) error { return q.Release(ctx, l) }},
		{"DeadLetter", func(ctx context.Context, l storagefirst.Lease) error { return q.DeadLetter(ctx, l, f) }},
		{"Extend", func(ctx context.Context, l storagefirst.Lease) error {
			_, err := q.Extend(ctx, l, time.Minute)
			return err
		}},
	}
}

// testCompletionAfterTakeover: a holder whose lease ran out and whose envelope
// another consumer then claimed (a real takeover, not a forged token) is refused
// with ErrLeaseLost on every answer, and the new holder's lease is untouched.
func testCompletionAfterTakeover(t *testing.T, q QueueBackend) {
	ctx := suiteCtx(t)
	for _, op := range leaseOps(q) {
		in := envs(t, 1)
		require.NoError(t, q.Put(ctx, in...))
		old := claimOne(t, ctx, q, shortLease)
		waitPast(t, ctx, old.Lease.Until)
		cur := claimOne(t, ctx, q, time.Minute)
		require.Equal(t, old.Envelope.ID, cur.Envelope.ID, "%s: the takeover", op.name)
		require.ErrorIs(t, op.run(ctx, old.Lease), storagefirst.ErrLeaseLost, "%s after a takeover", op.name)
		// The new holder still holds the envelope: its own answer succeeds.
		require.NoError(t, op.run(ctx, cur.Lease), "%s by the new holder", op.name)
		cleanUp(t, ctx, q, op.name, cur)
	}
}

// testCompletionAfterExpiry: a holder whose lease ran out, while nobody claimed
// the envelope since, may still answer (the contract allows it), every answer.
func testCompletionAfterExpiry(t *testing.T, q QueueBackend) {
	ctx := suiteCtx(t)
	for _, op := range leaseOps(q) {
		in := envs(t, 1)
		require.NoError(t, q.Put(ctx, in...))
		d := claimOne(t, ctx, q, shortLease)
		waitPast(t, ctx, d.Lease.Until)
		require.NoError(t, op.run(ctx, d.Lease), "%s after the lease ran out, before a takeover", op.name)
		cleanUp(t, ctx, q, op.name, d)
	}
}

// cleanUp leaves the queue with nothing due or leased after op answered d: what
// op left in the queue (a retry, a release, an extended lease) is claimed and
// acknowledged, a dead letter deleted.
func cleanUp(t *testing.T, ctx context.Context, q QueueBackend, op string, d storagefirst.Delivery) {
	t.Helper()
	switch op {
	case "Retry", "Release":
		ds, err := q.Claim(ctx, 10, time.Minute)
		require.NoError(t, err)
		require.Len(t, ds, 1, "%s put the envelope back", op)
		require.NoError(t, q.Ack(ctx, ds[0].Lease))
	case "DeadLetter":
		require.NoError(t, q.DeleteDead(ctx, d.Envelope.ID))
	case "Extend":
		s, err := q.Stats(ctx)
		require.NoError(t, err)
		require.Equal(t, int64(1), s.InFlight, "the extended lease holds")
		ds, err := q.Claim(ctx, 10, time.Minute)
		require.NoError(t, err)
		require.Empty(t, ds, "an extended lease is not due")
		l := d.Lease
		// The Extend returned a lease of the same token; Ack with it.
		require.NoError(t, q.Ack(ctx, storagefirst.Lease{ID: l.ID, Token: l.Token}))
	}
	s, err := q.Stats(ctx)
	require.NoError(t, err)
	require.Equal(t, storagefirst.QueueStats{}, s, "after %s", op)
}
