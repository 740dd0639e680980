package dlq_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/dlq"
	"github.com/storagefirst/storagefirst-go/internal/pgtest"
	"github.com/storagefirst/storagefirst-go/pgstore"
	"github.com/storagefirst/storagefirst-go/sqlitestore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// replayQueue is a store queue with its dead letters.
type replayQueue interface {
	storagefirst.Queue
	storagefirst.DeadLetters
	storagefirst.StatsReporter
}

// wrapSink is a sink that wraps another (as a metrics or logging decorator does).
type wrapSink struct{ next storagefirst.Sink }

func (w wrapSink) Put(ctx context.Context, envs ...storagefirst.Envelope) error {
	return w.next.Put(ctx, envs...)
}

func newPGStore(t *testing.T, ctx context.Context, url, schema string) *pgstore.Store {
	pool, err := pgxpool.New(ctx, url)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	store, err := pgstore.New(pool, pgstore.Config{Schema: schema, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	_, err = store.Migrate(ctx)
	require.NoError(t, err)
	return store
}

// TestReplayIntoTheSourceQueueThroughAnySink: a Put never revives a dead letter,
// so a replay into the dead letters' own queue through a handle Replay cannot
// recognise (a SinkFunc, a wrapping sink, a second Store on the same schema) must
// still leave every envelope in the queue, never delete it. On Postgres and
// SQLite.
func TestReplayIntoTheSourceQueueThroughAnySink(t *testing.T) {
	t.Parallel()
	type setup struct {
		name string
		open func(t *testing.T, ctx context.Context) (src replayQueue, sinks map[string]storagefirst.Sink)
	}
	setups := []setup{
		{"postgres", func(t *testing.T, ctx context.Context) (replayQueue, map[string]storagefirst.Sink) {
			url, schema := pgtest.NewSchema(t)
			q, err := newPGStore(t, ctx, url, schema).Queue("orders")
			require.NoError(t, err)
			q2, err := newPGStore(t, ctx, url, schema).Queue("orders")
			require.NoError(t, err)
			return q, map[string]storagefirst.Sink{"SinkFunc": storagefirst.SinkFunc(q.Put),
				"wrapping": wrapSink{q}, "second store": q2}
		}},
		{"sqlite", func(t *testing.T, ctx context.Context) (replayQueue, map[string]storagefirst.Sink) {
			st, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "q.db"), sqlitestore.Config{})
			require.NoError(t, err)
			t.Cleanup(func() { _ = st.Close() })
			q, err := st.Queue("orders")
			require.NoError(t, err)
			return q, map[string]storagefirst.Sink{"SinkFunc": storagefirst.SinkFunc(q.Put), "wrapping": wrapSink{q}}
		}},
	}
	for _, s := range setups {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			q, sinks := s.open(t, ctx)
			for name, sink := range sinks {
				t.Run(name, func(t *testing.T) {
					testReplayIntoSource(t, ctx, q, sink)
				})
			}
		})
	}
}

func testReplayIntoSource(t *testing.T, ctx context.Context, q replayQueue, sink storagefirst.Sink) {
	env, err := storagefirst.NewEnvelope("test", []byte(`{"pizza":"margherita"}`))
	require.NoError(t, err)
	require.NoError(t, q.Put(ctx, env))
	ds, err := q.Claim(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.NoError(t, q.DeadLetter(ctx, ds[0].Lease, storagefirst.NewFailure(1, time.Now(), errors.New("boom"))))

	sum, err := dlq.Replay(ctx, dlq.FromDeadLetters(q), sink, dlq.ReplayOptions{})
	require.NoError(t, err)
	require.Equal(t, 1, sum.Replayed)
	st, err := q.Stats(ctx)
	require.NoError(t, err)
	require.Zero(t, st.Dead)
	require.Equal(t, int64(1), st.Ready, "the dead letter is back in its queue, not lost")

	ds, err = q.Claim(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	got := ds[0].Envelope
	require.Equal(t, env.Key(), got.Key(), "the replay keeps the idempotency key")
	require.Equal(t, env.ID, dlq.OriginalID(got))
	require.Equal(t, env.Payload, got.Payload)
	require.Contains(t, got.Metadata, storagefirst.MetadataReplayedAt)
	require.NoError(t, q.Ack(ctx, ds[0].Lease))
}

// TestReplayReRunIsADuplicate: a replay interrupted after its re-put (the delete
// failed) re-puts the same envelope when run again: the sink sees a duplicate,
// and the queue holds one copy.
func TestReplayReRunIsADuplicate(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "q.db"), sqlitestore.Config{})
	require.NoError(t, err)
	defer st.Close()
	q, err := st.Queue("orders")
	require.NoError(t, err)
	env, err := storagefirst.NewEnvelope("test", []byte(`{}`))
	require.NoError(t, err)
	require.NoError(t, q.SendDeadLetter(ctx, storagefirst.DeadLetter{Envelope: env, DeadAt: time.Now()}))
	src := dlq.FromDeadLetters(q)
	es, err := src.Read(ctx, 10)
	require.NoError(t, err)
	require.Len(t, es, 1)
	sink := storagefirst.SinkFunc(q.Put)
	// The first run's re-put, then its delete "failed": run the replay again.
	first := es[0]
	_, err = dlq.Replay(ctx, failingDelete{dlq.FromDeadLetters(q)}, sink, dlq.ReplayOptions{})
	require.NoError(t, err)
	sum, err := dlq.Replay(ctx, dlq.FromDeadLetters(q), sink, dlq.ReplayOptions{})
	require.NoError(t, err)
	require.Equal(t, 1, sum.Replayed)
	stats, err := q.Stats(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), stats.Ready, "one copy of %s", first.Envelope.ID)
	require.Zero(t, stats.Dead)
}

// failingDelete is a Source whose Delete fails (a crash after the re-put).
type failingDelete struct{ *dlq.DeadLetterSource }

func (f failingDelete) Delete(context.Context, dlq.Entry) error { return errors.New("crash") }
