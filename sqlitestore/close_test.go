package sqlitestore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/sqlitestore"
	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
)

// TestCloseDuringPuts: Close while callers Put (small batches, so calls queue and
// do not fit the batch being formed) answers every Put, with success or ErrClosed,
// never hangs, and every success is stored in the file.
func TestCloseDuringPuts(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "store.db")
	s, err := sqlitestore.Open(context.Background(), path, sqlitestore.Config{MaxBatch: 4})
	require.NoError(t, err)
	q, err := s.Queue("close")
	require.NoError(t, err)
	ids := sftest.CheckCloseDuringPuts(t, q, s.Close, 200)
	s2 := open(t, path)
	stored := map[string]bool{}
	rows, err := s2.ReadDB().Query(`SELECT id FROM envelopes WHERE queue = 'close'`)
	require.NoError(t, err)
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		stored[id] = true
	}
	require.NoError(t, rows.Err())
	for _, id := range ids {
		require.True(t, stored[id], "acknowledged envelope %s is stored", id)
	}
}
