package sftest

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// Enqueuer is a backend whose Enqueue says which envelopes a Put stored and which
// were there already, as pgstore's and sqlitestore's queues do.
type Enqueuer interface {
	Enqueue(ctx context.Context, envs ...storagefirst.Envelope) (storagefirst.PutResult, error)
}

// testEnqueueResult: Enqueue reports new IDs as Inserted and repeats (of an
// earlier call or within the call) as Duplicates, and never an invalid envelope.
func testEnqueueResult(t *testing.T, q QueueBackend) {
	eq, ok := q.(Enqueuer)
	if !ok {
		t.Skip("backend has no Enqueue")
	}
	ctx := suiteCtx(t)
	in := envs(t, 3)
	res, err := eq.Enqueue(ctx, in[0])
	require.NoError(t, err)
	require.Equal(t, []string{in[0].ID}, res.Inserted)
	require.Empty(t, res.Duplicates)

	bad := in[2]
	bad.Type = ""
	res, err = eq.Enqueue(ctx, in[0], in[1], in[1], bad)
	var pe *storagefirst.PutError
	require.True(t, errors.As(err, &pe), "the invalid envelope is reported: %v", err)
	require.Len(t, pe.Failed, 1)
	require.Equal(t, bad.ID, pe.Failed[0].ID)
	require.Equal(t, []string{in[1].ID}, res.Inserted)
	require.Equal(t, []string{in[0].ID, in[1].ID}, res.Duplicates)

	s, err := q.Stats(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(2), s.Ready)
}
