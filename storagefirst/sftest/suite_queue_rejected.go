package sftest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// requireFailsAlone checks that err from a Put of in reports exactly the envelopes
// with the IDs in bad, each as a permanent failure wrapping ErrInvalidEnvelope.
func requireFailsAlone(t *testing.T, err error, in []storagefirst.Envelope, bad ...string) {
	t.Helper()
	var pe *storagefirst.PutError
	require.ErrorAs(t, err, &pe, "a *PutError naming the bad envelopes, not a failure of the whole Put")
	require.Equal(t, len(in), pe.Total)
	require.Equal(t, bad, pe.FailedIDs(), "the failures, in the order given")
	for _, f := range pe.Failed {
		require.True(t, storagefirst.IsPermanent(f.Err), "%s: %v", f.ID, f.Err)
		require.ErrorIs(t, f.Err, storagefirst.ErrInvalidEnvelope)
	}
}

// claimAll claims until n envelopes are held and returns them by ID.
func claimAll(t *testing.T, q storagefirst.Queue, n int) map[string]storagefirst.Envelope {
	t.Helper()
	ctx := suiteCtx(t)
	got := map[string]storagefirst.Envelope{}
	for len(got) < n {
		ds, err := q.Claim(ctx, n, time.Minute)
		require.NoError(t, err)
		for _, d := range ds {
			got[d.Envelope.ID] = d.Envelope
		}
		if len(ds) == 0 {
			require.NoError(t, ctx.Err(), "only %d of %d envelopes were delivered", len(got), n)
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Millisecond): // poll interval, not synchronisation
			}
		}
	}
	requireNone(t, ctx, q)
	return got
}

// testPutUnstorable: envelopes no store can hold (NUL bytes in fields or metadata,
// invalid UTF-8 in the payload) fail alone in a Put with good ones, which are
// stored; a \u0000 escape in the payload's JSON is stored and comes back as it was.
func testPutUnstorable(t *testing.T, q QueueBackend) {
	ctx := suiteCtx(t)
	in := envs(t, 6)
	in[1].Metadata["trace"] = "a\x00b"
	in[2].Type = "test\x00nul"
	in[3].Payload = []byte("{\"s\":\"\xff\"}")
	in[4].Payload = []byte(`{"s":"a\u0000b"}`)
	requireFailsAlone(t, q.Put(ctx, in...), in, in[1].ID, in[2].ID, in[3].ID)
	got := claimAll(t, q, 3)
	for _, i := range []int{0, 4, 5} {
		require.Contains(t, got, in[i].ID)
		requireSameEnvelope(t, in[i], got[in[i].ID])
	}
}

// testRejectedRow: the database refuses one envelope's row. In a multi-envelope
// Put, and among concurrent Puts sharing group commits, only that envelope fails,
// permanently; every other caller's envelopes are stored.
func testRejectedRow(t *testing.T, q QueueBackend, reject func(*testing.T, QueueBackend, string)) {
	const rejected = "test.rejected"
	reject(t, q, rejected)
	ctx := suiteCtx(t)

	in := envs(t, 5)
	in[2].Type = rejected
	requireFailsAlone(t, q.Put(ctx, in...), in, in[2].ID)
	got := claimAll(t, q, 4)
	for i, e := range in {
		if i != 2 {
			require.Contains(t, got, e.ID)
		}
	}

	// Concurrent callers: one of them keeps putting rejected envelopes.
	const callers, rounds = 16, 5
	type result struct {
		in  []storagefirst.Envelope
		err error
	}
	results := make(chan result, callers*rounds)
	start := make(chan struct{})
	var wg sync.WaitGroup
	var mkErr error
	var mkOnce sync.Once
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for r := range rounds {
				batch := make([]storagefirst.Envelope, 1+(c+r)%3)
				for i := range batch {
					e, err := storagefirst.NewEnvelope("test", fmt.Appendf(nil, `{"c":%d,"r":%d,"i":%d}`, c, r, i))
					if err != nil {
						mkOnce.Do(func() { mkErr = err })
						return
					}
					if c == 0 && i == 0 {
						e.Type = rejected
					}
					batch[i] = e
				}
				results <- result{batch, q.Put(ctx, batch...)}
			}
		}()
	}
	close(start)
	wg.Wait()
	close(results)
	require.NoError(t, mkErr)
	stored := 0
	for r := range results {
		var bad []string
		for _, e := range r.in {
			if e.Type == rejected {
				bad = append(bad, e.ID)
			}
		}
		if len(bad) == 0 {
			require.NoError(t, r.err, "a caller without a rejected envelope fails")
		} else {
			requireFailsAlone(t, r.err, r.in, bad...)
		}
		stored += len(r.in) - len(bad)
	}
	claimAll(t, q, stored)
}

// testFailureWithNUL: a handler error whose message holds a NUL byte (it quotes
// binary input) is recorded by Retry and DeadLetter all the same, so the envelope
// still reaches the dead letters with its history.
func testFailureWithNUL(t *testing.T, q QueueBackend) {
	ctx := suiteCtx(t)
	in := envs(t, 1)
	require.NoError(t, q.Put(ctx, in...))
	d := claimOne(t, ctx, q, time.Minute)
	require.NoError(t, q.Retry(ctx, d.Lease, 0, storagefirst.NewFailure(1, time.Now(), errors.New("bad byte \x00 in input"))))
	d = claimOne(t, ctx, q, time.Minute)
	require.NoError(t, q.DeadLetter(ctx, d.Lease, storagefirst.NewFailure(2, time.Now(), errors.New("still \x00"))))
	dead, err := q.ListDead(ctx, storagefirst.DeadLetterFilter{})
	require.NoError(t, err)
	require.Len(t, dead, 1)
	require.Len(t, dead[0].Failures, 2)
	require.Contains(t, dead[0].Failures[0].Error, "bad byte ")
	require.Contains(t, dead[0].Failures[1].Error, "still ")
}
