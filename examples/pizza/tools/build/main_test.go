package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBootstrapsNearTheFloor builds the functions as they are deployed (arm64,
// stripped) and holds each within MaxOverFloor of the floor: a function that
// starts linking what it does not use (a store's queues, the console, another
// service's client) fails here.
func TestBootstrapsNearTheFloor(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles five bootstraps")
	}
	floor, sizes, err := buildAll("arm64", t.TempDir())
	require.NoError(t, err)
	require.Len(t, sizes, len(Functions))
	for _, sz := range sizes {
		over := sz.Bytes - floor.Bytes
		t.Logf("%-13s %8d bytes, floor %+.3f MiB", sz.Function, sz.Bytes, float64(over)/(1<<20))
		require.LessOrEqual(t, over, MaxOverFloor, "%s is %.3f MiB over the floor (budget %.1f MiB)",
			sz.Function, float64(over)/(1<<20), float64(MaxOverFloor)/(1<<20))
		require.Positive(t, sz.Zip)
	}
}
