package sqlitestore_test

import (
	"context"
	"path/filepath"
	"testing"

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
	}})
}

func TestIdempotencyConformance(t *testing.T) {
	t.Parallel()
	sftest.RunIdempotencySuite(t, func(t *testing.T) storagefirst.IdempotencyStore { return fresh(t).Idempotency() })
}

func TestWorkflowStoreConformance(t *testing.T) {
	t.Parallel()
	workflowtest.RunStoreSuite(t, func(t *testing.T) workflow.Store { return fresh(t).Workflows() })
}
