package pgstore_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/pgstore"
)

// TestQueueNameIsStorable: a queue name Postgres text cannot hold is refused up
// front, not by the database inside a shared group commit.
func TestQueueNameIsStorable(t *testing.T) {
	t.Parallel()
	s, err := pgstore.New(newPool(t, "postgres://127.0.0.1:1/none"), pgstore.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	for _, name := range []string{"", "a\x00b", "\xff", strings.Repeat("q", 129)} {
		_, err := s.Queue(name)
		require.ErrorIs(t, err, pgstore.ErrInvalidQueueName, "%q", name)
	}
	_, err = s.Queue("orders.é")
	require.NoError(t, err)
}
