package sftest

import (
	"context"
	"slices"
	"time"

	"testing"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// testCanceledContext: every method called with a canceled context returns an
// error wrapping context.Canceled and changes nothing.
func testCanceledContext(t *testing.T, q QueueBackend) {
	ctx := suiteCtx(t)
	in := envs(t, 5) // a, b, c, d: stored; e: put with a canceled context
	a, b, c, d, e := in[0], in[1], in[2], in[3], in[4]
	require.NoError(t, q.Put(ctx, d))
	dl := claimOne(t, ctx, q, time.Hour)
	require.NoError(t, q.DeadLetter(ctx, dl.Lease, storagefirst.Failure{Error: "dead"}))
	require.NoError(t, q.Put(ctx, a))
	la := claimOne(t, ctx, q, time.Hour)
	require.NoError(t, q.Put(ctx, b))
	lb := claimOne(t, ctx, q, shortLease) // Extend with a canceled context must not keep it
	require.NoError(t, q.Put(ctx, c))

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	calls := []struct {
		name string
		call func(context.Context) error
	}{
		{"Put", func(ctx context.Context) error { return q.Put(ctx, e) }},
		{"Claim", func(ctx context.Context) error { _, err := q.Claim(ctx, 10, time.Hour); return err }},
		{"Ack", func(ctx context.Context) error { return q.Ack(ctx, la.Lease) }},
		{"Retry", func(ctx context.Context) error {
			return q.Retry(ctx, la.Lease, 0, storagefirst.Failure{Error: "x"})
		}},
		{"Release", func(ctx context.Context) error { return q.Release(ctx, la.Lease) }},
		{"DeadLetter", func(ctx context.Context) error {
			return q.DeadLetter(ctx, la.Lease, storagefirst.Failure{Error: "x"})
		}},
		{"Extend", func(ctx context.Context) error { _, err := q.Extend(ctx, lb.Lease, time.Hour); return err }},
		{"ListDead", func(ctx context.Context) error {
			_, err := q.ListDead(ctx, storagefirst.DeadLetterFilter{})
			return err
		}},
		{"Requeue", func(ctx context.Context) error { return q.Requeue(ctx, d.ID) }},
		{"DeleteDead", func(ctx context.Context) error { return q.DeleteDead(ctx, d.ID) }},
		{"Stats", func(ctx context.Context) error { _, err := q.Stats(ctx); return err }},
	}
	for _, m := range calls {
		require.ErrorIs(t, m.call(canceled), context.Canceled, "%s with a canceled context", m.name)
	}

	// Nothing changed: the dead letter is still dead, a's lease still holds, only c
	// is due (e was not stored, nothing was claimed), and b's lease still ends.
	dead, err := q.ListDead(ctx, storagefirst.DeadLetterFilter{})
	require.NoError(t, err)
	require.Len(t, dead, 1)
	require.Equal(t, d.ID, dead[0].Envelope.ID)
	require.NoError(t, q.Ack(ctx, la.Lease), "a's lease was changed")
	ds, err := q.Claim(ctx, 10, time.Hour)
	require.NoError(t, err)
	var ids []string
	for _, x := range ds {
		ids = append(ids, x.Envelope.ID)
	}
	if !slices.Contains(ids, b.ID) { // b's short lease runs out (unless Extend kept it)
		ids = append(ids, claimOne(t, ctx, q, time.Hour).Envelope.ID)
	}
	require.ElementsMatch(t, []string{b.ID, c.ID}, ids)
	requireNone(t, ctx, q)
}

// stallDeadline is the callers' deadline while writes are stalled, and
// stallMargin how much longer a call may take to give up.
const (
	stallDeadline = 200 * time.Millisecond
	stallMargin   = time.Second
)

// testStalledWrites: while what writes wait for is held, every write returns the
// caller's context error within its deadline (plus a margin), or soon after its
// context is canceled, instead of waiting for the holder.
func testStalledWrites(t *testing.T, q QueueBackend, stall func(*testing.T, QueueBackend)) {
	ctx := suiteCtx(t)
	in := envs(t, 3)
	require.NoError(t, q.Put(ctx, in[0]))
	dl := claimOne(t, ctx, q, time.Hour)
	require.NoError(t, q.DeadLetter(ctx, dl.Lease, storagefirst.Failure{Error: "dead"}))
	require.NoError(t, q.Put(ctx, in[1]))
	l := claimOne(t, ctx, q, time.Hour).Lease

	stall(t, q)

	calls := []struct {
		name string
		call func(context.Context) error
	}{
		{"Put", func(ctx context.Context) error { return q.Put(ctx, in[2]) }},
		{"Claim", func(ctx context.Context) error { _, err := q.Claim(ctx, 10, time.Hour); return err }},
		{"Ack", func(ctx context.Context) error { return q.Ack(ctx, l) }},
		{"Retry", func(ctx context.Context) error { return q.Retry(ctx, l, 0, storagefirst.Failure{Error: "x"}) }},
		{"Release", func(ctx context.Context) error { return q.Release(ctx, l) }},
		{"DeadLetter", func(ctx context.Context) error { return q.DeadLetter(ctx, l, storagefirst.Failure{Error: "x"}) }},
		{"Extend", func(ctx context.Context) error { _, err := q.Extend(ctx, l, time.Hour); return err }},
		{"Requeue", func(ctx context.Context) error { return q.Requeue(ctx, dl.Lease.ID) }},
		{"DeleteDead", func(ctx context.Context) error { return q.DeleteDead(ctx, dl.Lease.ID) }},
	}
	for _, m := range calls {
		dctx, cancel := context.WithTimeout(ctx, stallDeadline)
		start := time.Now()
		err := m.call(dctx)
		took := time.Since(start)
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded, "%s past its deadline", m.name)
		require.Less(t, took, stallDeadline+stallMargin, "%s past its deadline", m.name)

		cctx, cancel := context.WithCancel(ctx)
		stop := time.AfterFunc(stallDeadline, cancel) // the cancellation under test
		start = time.Now()
		err = m.call(cctx)
		took = time.Since(start)
		stop.Stop()
		cancel()
		require.ErrorIs(t, err, context.Canceled, "%s canceled", m.name)
		require.Less(t, took, stallDeadline+stallMargin, "%s canceled", m.name)
	}
}
