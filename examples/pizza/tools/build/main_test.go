package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	pizzalambda "github.com/storagefirst/storagefirst-go/examples/pizza/lambda"
)

// TestBootstrapsNearTheFloor builds the functions as they are deployed (arm64,
// stripped) and holds each within MaxOverFloor of the floor, in loaded bytes
// (the file's size moves in 64 KiB steps): a function that starts linking what
// it does not use (a store's queues, the console, another service's client)
// fails here. It cross-compiles, a minute or two on a cold build cache.
func TestBootstrapsNearTheFloor(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles five bootstraps")
	}
	floor, sizes, err := buildAll("arm64", t.TempDir())
	require.NoError(t, err)
	require.Len(t, sizes, len(pizzalambda.Functions))
	mib := func(n int64) float64 { return float64(n) / (1 << 20) }
	for _, sz := range sizes {
		over := sz.Loaded - floor.Loaded
		t.Logf("%-13s file %8d bytes (floor %+.3f MiB), loaded %8d bytes (floor %+.3f MiB)", sz.Function,
			sz.Bytes, mib(sz.Bytes-floor.Bytes), sz.Loaded, mib(over))
		require.LessOrEqual(t, over, MaxOverFloor, "%s loads %.3f MiB more than the floor (budget %.1f MiB)",
			sz.Function, mib(over), mib(MaxOverFloor))
		require.Positive(t, sz.Zip)
	}
}
