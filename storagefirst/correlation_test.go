package storagefirst_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

func TestCorrelationID(t *testing.T) {
	t.Parallel()
	require.Equal(t, "c-1", storagefirst.CorrelationID("c-1"))
	max := strings.Repeat("x", storagefirst.MaxCorrelationIDLength)
	require.Equal(t, max, storagefirst.CorrelationID(max))
	for _, bad := range []string{"", max + "x"} {
		got := storagefirst.CorrelationID(bad)
		require.NotEqual(t, bad, got)
		require.Len(t, got, 36) // a UUID
	}
}
