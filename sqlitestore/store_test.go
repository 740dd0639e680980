package sqlitestore_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/sqlitestore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
	"github.com/storagefirst/storagefirst-go/workflow"
	"github.com/storagefirst/storagefirst-go/workflow/workflowtest"
)

func open(t *testing.T, path string) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(context.Background(), path, sqlitestore.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// leaseOne puts one envelope on queue "q" of s and claims it for an hour,
// returning the queue, the envelope and its delivery.
func leaseOne(ctx context.Context, t *testing.T, s *sqlitestore.Store) (*sqlitestore.Queue, storagefirst.Envelope, storagefirst.Delivery) {
	t.Helper()
	q, err := s.Queue("q")
	require.NoError(t, err)
	env, err := storagefirst.NewEnvelope("t", []byte(`{}`))
	require.NoError(t, err)
	require.NoError(t, q.Put(ctx, env))
	ds, err := q.Claim(ctx, 1, time.Hour)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	return q, env, ds[0]
}

func fresh(t *testing.T) *sqlitestore.Store {
	return open(t, filepath.Join(t.TempDir(), "store.db"))
}

type reopenable struct {
	*sqlitestore.Queue
	path string
}

func TestQueueConformance(t *testing.T) {
	t.Parallel()
	sftest.RunQueueSuite(t, func(t *testing.T) sftest.QueueBackend {
		path := filepath.Join(t.TempDir(), "store.db")
		q, err := open(t, path).Queue("conformance")
		require.NoError(t, err)
		return reopenable{q, path}
	}, sftest.QueueFeatures{Reopen: func(t *testing.T, old sftest.QueueBackend) sftest.QueueBackend {
		r := old.(reopenable)
		require.NoError(t, r.Queue.Store().Close())
		q, err := open(t, r.path).Queue(r.Name())
		require.NoError(t, err)
		return reopenable{q, r.path}
	}, RejectType: func(t *testing.T, q sftest.QueueBackend, typ string) {
		// A trigger the store does not know of: SQLITE_CONSTRAINT_TRIGGER.
		_, err := q.(reopenable).Store().DB().Exec(`CREATE TRIGGER rejected_type BEFORE INSERT ON envelopes
			WHEN NEW.type = ` + "'" + strings.ReplaceAll(typ, "'", "''") + "'" + ` BEGIN SELECT RAISE(ABORT, 'rejected type'); END`)
		require.NoError(t, err)
	}, ReopenReleasesLeases: true, Idempotency: func(t *testing.T, q sftest.QueueBackend) storagefirst.IdempotencyStore {
		return q.(reopenable).Store().Idempotency()
	}, SingleOwner: func(t *testing.T, live sftest.QueueBackend) error {
		path := live.(reopenable).path
		s, err := sqlitestore.Open(context.Background(), path, sqlitestore.Config{})
		if err != nil {
			require.ErrorIs(t, err, sqlitestore.ErrStoreInUse)
			require.ErrorContains(t, err, path)
			return err
		}
		return s.Close()
	}, Stall: func(t *testing.T, q sftest.QueueBackend) {
		holdFileLock(t, nil, q.(reopenable).path)
	}})
}

func TestIdempotencyConformance(t *testing.T) {
	t.Parallel()
	sftest.RunIdempotencySuite(t, func(t *testing.T) storagefirst.IdempotencyStore { return withCompletionPaths(fresh(t)) })
}

func TestWorkflowStoreConformance(t *testing.T) {
	t.Parallel()
	workflowtest.RunStoreSuite(t, func(t *testing.T) workflow.Store { return fresh(t).Workflows() })
}

// TestReopenReleasesWhatACrashedProcessHeld: a SQLite store has one process, so
// what the previous one held when it died is free again at once.
func TestReopenReleasesWhatACrashedProcessHeld(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "store.db")
	s := open(t, path)
	ctx := context.Background()
	_, env, _ := leaseOne(ctx, t, s)
	_, err := s.Idempotency().Begin(ctx, "s", env.ID, "", time.Hour)
	require.NoError(t, err)
	require.NoError(t, s.Close()) // the process "dies" holding both

	s2 := open(t, path)
	q2, err := s2.Queue("q")
	require.NoError(t, err)
	ds, err := q2.Claim(ctx, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1, "redelivered at once")
	require.Equal(t, 2, ds[0].Envelope.Attempt)
	res, err := s2.Idempotency().Begin(ctx, "s", env.ID, "", time.Minute)
	require.NoError(t, err)
	require.True(t, res.Acquired)
}
