package sftest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testSingleOwner: a second open of an embedded store that is in use fails, and
// leaves the owner's leases alone (a second owner releasing them would deliver
// the same envelope twice).
func testSingleOwner(t *testing.T, q QueueBackend, openAgain func(*testing.T, QueueBackend) error) {
	ctx := suiteCtx(t)
	in := envs(t, 2)
	require.NoError(t, q.Put(ctx, in[0]))
	held := claimOne(t, ctx, q, time.Hour)
	require.NoError(t, q.Put(ctx, in[1]))

	require.Error(t, openAgain(t, q), "a second owner of the store opened")

	ds, err := q.Claim(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1, "the owner's lease was released")
	require.Equal(t, in[1].ID, ds[0].Envelope.ID)
	require.NoError(t, q.Ack(ctx, held.Lease), "the owner's lease still acknowledges")
	require.NoError(t, q.Ack(ctx, ds[0].Lease))
}
