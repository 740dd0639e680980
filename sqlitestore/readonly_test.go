package sqlitestore_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/sqlitestore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// A read-only Store opens beside the running owner (no ErrStoreInUse), reads
// what the owner commits, even after it opened, writes nothing, and does not
// keep a new owner out.
func TestOpenReadOnlyBesideTheOwner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "store.db")
	s := open(t, path)
	q, dead, d := leaseOne(ctx, t, s)
	require.NoError(t, q.DeadLetter(ctx, d.Lease, storagefirst.Failure{Error: "boom"}))

	ro, err := sqlitestore.OpenReadOnly(ctx, path, sqlitestore.Config{})
	require.NoError(t, err, "the owner is running: a reader opens anyway")
	defer func() { require.NoError(t, ro.Close()) }()
	rq, err := ro.Queue("q")
	require.NoError(t, err)
	dls, err := rq.ListDead(ctx, storagefirst.DeadLetterFilter{})
	require.NoError(t, err)
	require.Len(t, dls, 1)
	require.Equal(t, dead.ID, dls[0].Envelope.ID)

	// A later commit of the owner is visible.
	ready, err := storagefirst.NewEnvelope("t", []byte(`{}`))
	require.NoError(t, err)
	require.NoError(t, q.Put(ctx, ready))
	st, err := rq.Stats(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), st.Ready)
	require.Equal(t, int64(1), st.Dead)

	// Writes fail and change nothing.
	other, err := storagefirst.NewEnvelope("t", []byte(`{}`))
	require.NoError(t, err)
	require.Error(t, rq.Put(ctx, other))
	require.Error(t, rq.Requeue(ctx, dead.ID))
	st, err = q.Stats(ctx)
	require.NoError(t, err)
	require.Equal(t, storagefirst.QueueStats{Ready: 1, Dead: 1}, storagefirst.QueueStats{Ready: st.Ready, Dead: st.Dead,
		Scheduled: st.Scheduled, InFlight: st.InFlight})

	// It holds no lock: after the owner closes, a new owner opens beside it.
	require.NoError(t, s.Close())
	s2, err := sqlitestore.Open(ctx, path, sqlitestore.Config{})
	require.NoError(t, err)
	require.NoError(t, s2.Close())
}

// OpenReadOnly never creates a store, and refuses a file that is no store.
func TestOpenReadOnlyNeedsAStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	_, err := sqlitestore.OpenReadOnly(ctx, filepath.Join(dir, "missing.db"), sqlitestore.Config{})
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.NoFileExists(t, filepath.Join(dir, "missing.db"))

	empty := filepath.Join(dir, "empty.db")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	_, err = sqlitestore.OpenReadOnly(ctx, empty, sqlitestore.Config{})
	require.ErrorIs(t, err, sqlitestore.ErrNotMigrated)
}
