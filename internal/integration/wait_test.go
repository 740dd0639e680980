package integration_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		require.True(t, time.Now().Before(deadline), "timed out waiting for %s", what)
		<-time.After(5 * time.Millisecond)
	}
}
