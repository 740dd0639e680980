package sftest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// testListDeadPaging dead-letters 25 envelopes of two types among live ones and
// pages through them with AfterID and Limit, all and by type: every dead letter
// once, in ID order, no live envelope, no gap, and a short last page.
func testListDeadPaging(t *testing.T, q QueueBackend) {
	ctx := suiteCtx(t)
	in := envs(t, 40)
	for i := range in {
		if i%3 == 0 {
			in[i].Type = "other"
		}
	}
	require.NoError(t, q.Put(ctx, in...))
	ds, err := q.Claim(ctx, len(in), time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, len(in))
	var dead, deadOther []string
	for i, d := range ds {
		if i%8 >= 5 { // 3 of every 8 stay live, interleaved in ID order with the dead
			require.NoError(t, q.Release(ctx, d.Lease))
			continue
		}
		require.NoError(t, q.DeadLetter(ctx, d.Lease, storagefirst.NewFailure(1, time.Now(), errors.New("boom"))))
		dead = append(dead, d.Envelope.ID)
		if d.Envelope.Type == "other" {
			deadOther = append(deadOther, d.Envelope.ID)
		}
	}
	require.Len(t, dead, 25)

	for _, limit := range []int{1, 4, 25, 26} {
		require.Equal(t, dead, pageDead(t, ctx, q, "", limit), "all dead letters, %d a page", limit)
		require.Equal(t, deadOther, pageDead(t, ctx, q, "other", limit), "dead letters of one type, %d a page", limit)
	}
	all, err := q.ListDead(ctx, storagefirst.DeadLetterFilter{})
	require.NoError(t, err)
	require.Len(t, all, 25, "Limit 0 means 100")
	for i, dl := range all {
		require.Equal(t, dead[i], dl.Envelope.ID)
		require.Len(t, dl.Failures, 1)
	}
	after, err := q.ListDead(ctx, storagefirst.DeadLetterFilter{AfterID: dead[len(dead)-1]})
	require.NoError(t, err)
	require.Empty(t, after, "nothing after the last one")
}

// pageDead lists every dead letter of type typ (all types when empty), limit a page.
func pageDead(t *testing.T, ctx context.Context, q QueueBackend, typ string, limit int) []string {
	t.Helper()
	var ids []string
	after := ""
	for page := 0; ; page++ {
		require.Less(t, page, 100, "paging does not end")
		got, err := q.ListDead(ctx, storagefirst.DeadLetterFilter{AfterID: after, Limit: limit, Type: typ})
		require.NoError(t, err)
		require.LessOrEqual(t, len(got), limit)
		for _, dl := range got {
			require.Greater(t, dl.Envelope.ID, after, "not in ID order, or repeated")
			if typ != "" {
				require.Equal(t, typ, dl.Envelope.Type)
			}
			after = dl.Envelope.ID
			ids = append(ids, dl.Envelope.ID)
		}
		if len(got) < limit {
			return ids
		}
	}
}
