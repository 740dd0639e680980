package pgstore_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/internal/pgtest"
	"github.com/storagefirst/storagefirst-go/pgstore"
	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
)

// TestCloseDuringPuts: Close while callers Put (small batches, so calls queue and
// do not fit the batch being formed) answers every Put, with success or ErrClosed,
// never hangs, and every success is committed.
func TestCloseDuringPuts(t *testing.T) {
	t.Parallel()
	url, schema := pgtest.NewSchema(t)
	pool := newPool(t, url)
	s, err := pgstore.New(pool, pgstore.Config{Schema: schema, MaxBatch: 4, MaxConcurrentBatches: 1,
		Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	_, err = s.Migrate(t.Context())
	require.NoError(t, err)
	q, err := s.Queue("close")
	require.NoError(t, err)
	ids := sftest.CheckCloseDuringPuts(t, q, s.Close, 200)
	var n int
	require.NoError(t, pool.QueryRow(context.Background(),
		`SELECT count(*) FROM `+schema+`.envelopes WHERE queue = 'close' AND id = ANY($1)`, ids).Scan(&n))
	require.Equal(t, len(ids), n, "every acknowledged envelope is stored")
}
