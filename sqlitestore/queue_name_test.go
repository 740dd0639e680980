package sqlitestore_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/sqlitestore"
)

func TestQueueNameIsStorable(t *testing.T) {
	t.Parallel()
	s := fresh(t)
	for _, name := range []string{"", "a\x00b", "\xff", strings.Repeat("q", 129)} {
		_, err := s.Queue(name)
		require.ErrorIs(t, err, sqlitestore.ErrInvalidQueueName, "%q", name)
	}
	_, err := s.Queue("orders.é")
	require.NoError(t, err)
}
