package pgstore_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPutWakesConsumersHereAndElsewhere: a group commit of Put, which notifies
// after its commit rather than in it, wakes the consumers of its own Store (in
// process) and those of another Store on the same schema (another process, by
// NOTIFY).
func TestPutWakesConsumersHereAndElsewhere(t *testing.T) {
	t.Parallel()
	b := setup(t)
	q := b.queue(t, "wake")
	other := newStore(t, newPool(t, b.url), b.schema)
	oq, err := other.Queue("wake")
	require.NoError(t, err)
	ctx := testCtx(t)
	here, there := q.Wake(ctx), oq.Wake(ctx)
	// The listeners wake every subscriber once when they start listening; wait
	// for that, so that the next wake-up is the Put's.
	for _, w := range []<-chan struct{}{here, there} {
		select {
		case <-w:
		case <-ctx.Done():
			require.FailNow(t, "the listener did not start")
		}
	}
	require.NoError(t, q.Put(ctx, newEnvs(t, 1)...))
	for name, w := range map[string]<-chan struct{}{"this store": here, "another store": there} {
		select {
		case <-w:
		case <-ctx.Done():
			require.FailNow(t, "no wake-up", "for the consumers of %s", name)
		}
	}
}
