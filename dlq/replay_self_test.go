package dlq_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/dlq"
	"github.com/storagefirst/storagefirst-go/internal/pgtest"
	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
)

// TestReplayIntoTheSourceQueueRequeues: a Put never revives a dead letter, so a
// replay whose sink is the dead letters' own queue must requeue them in place, not
// re-put them (a duplicate) and then delete them (losing them).
func TestReplayIntoTheSourceQueueRequeues(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q := sftest.NewMemoryQueue(nil)
	var in []storagefirst.Envelope
	for range 3 {
		e, err := storagefirst.NewEnvelope("test", []byte(`{}`))
		require.NoError(t, err)
		in = append(in, e)
	}
	require.NoError(t, q.Put(ctx, in...))
	ds, err := q.Claim(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 3)
	for _, d := range ds {
		require.NoError(t, q.DeadLetter(ctx, d.Lease, storagefirst.NewFailure(1, time.Now(), errors.New("boom"))))
	}
	sum, err := dlq.Replay(ctx, dlq.FromDeadLetters(q), q, dlq.ReplayOptions{})
	require.NoError(t, err)
	require.Equal(t, 3, sum.Replayed)
	ds, err = q.Claim(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 3, "every dead letter is back in its queue")
	for _, d := range ds {
		require.Contains(t, d.Envelope.Metadata, storagefirst.MetadataReplayedAt)
	}
	st, err := q.Stats(ctx)
	require.NoError(t, err)
	require.Zero(t, st.Dead)
}

// TestReplayIntoAnotherHandleOnTheSourceQueue: pgstore returns a new handle per
// Store.Queue call; a replay into another handle on the same queue requeues too.
func TestReplayIntoAnotherHandleOnTheSourceQueue(t *testing.T) {
	t.Parallel()
	url, schema := pgtest.NewSchema(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store := newPGStore(t, ctx, url, schema)
	q, err := store.Queue("orders")
	require.NoError(t, err)
	env, err := storagefirst.NewEnvelope("test", []byte(`{}`))
	require.NoError(t, err)
	require.NoError(t, q.SendDeadLetter(ctx, storagefirst.DeadLetter{Envelope: env}))
	sink, err := store.Queue("orders")
	require.NoError(t, err)
	sum, err := dlq.Replay(ctx, dlq.FromDeadLetters(q), sink, dlq.ReplayOptions{})
	require.NoError(t, err)
	require.Equal(t, 1, sum.Replayed)
	st, err := q.Stats(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), st.Ready, "the dead letter is back in its queue, not lost")
	require.Zero(t, st.Dead)

	// Into another queue of the store, a replay re-puts and deletes the dead letter.
	require.NoError(t, q.SendDeadLetter(ctx, storagefirst.DeadLetter{Envelope: env}))
	other, err := store.Queue("orders-replayed")
	require.NoError(t, err)
	sum, err = dlq.Replay(ctx, dlq.FromDeadLetters(q), other, dlq.ReplayOptions{})
	require.NoError(t, err)
	require.Equal(t, 1, sum.Replayed)
	st, err = other.Stats(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), st.Ready)
}
