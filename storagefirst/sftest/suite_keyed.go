package sftest

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// KeyedQueue is a queue that stores an envelope together with the record of its
// idempotency key, in one transaction (pgstore and sqlitestore queues): what
// ingest front doors need for an exact Idempotency-Key.
type KeyedQueue interface {
	storagefirst.Queue
	PutKeyed(ctx context.Context, p storagefirst.KeyedPut) (storagefirst.KeyedResult, error)
}

// RunKeyedPutSuite runs the contract of PutKeyed against queues from newQueue
// (each test gets a fresh one): the first put of a key stores the envelope and the
// record, a repeat stores nothing and returns the first answer, another
// fingerprint is refused, and concurrent puts of one key store exactly one
// envelope without reporting the key in progress.
func RunKeyedPutSuite(t *testing.T, newQueue func(t *testing.T) KeyedQueue) {
	t.Run("StoresOnceAndReplays", func(t *testing.T) {
		t.Parallel()
		q := newQueue(t)
		ctx := suiteCtx(t)
		first := newKeyedPut(t, "k", "f1")
		res, err := q.PutKeyed(ctx, first)
		require.NoError(t, err)
		require.True(t, res.Stored)

		res, err = q.PutKeyed(ctx, newKeyedPut(t, "k", "f1"))
		require.NoError(t, err)
		require.False(t, res.Stored, "a repeat stores nothing")
		require.Equal(t, storagefirst.IdempotencyCompleted, res.Record.State)
		require.JSONEq(t, string(first.Answer), string(res.Record.Outcome.Result), "a repeat gets the first answer")

		_, err = q.PutKeyed(ctx, newKeyedPut(t, "k", "f2"))
		require.ErrorIs(t, err, storagefirst.ErrFingerprintMismatch)

		other := newKeyedPut(t, "k", "f1")
		other.Scope = "another scope"
		res, err = q.PutKeyed(ctx, other)
		require.NoError(t, err)
		require.True(t, res.Stored, "scopes are separate")
		require.ElementsMatch(t, []string{first.Envelope.ID, other.Envelope.ID}, keyedClaimAll(t, q))
	})
	t.Run("ConcurrentPutsOfOneKeyStoreOne", func(t *testing.T) {
		t.Parallel()
		q := newQueue(t)
		ctx := suiteCtx(t)
		const n = 8
		puts := make([]storagefirst.KeyedPut, n)
		for i := range puts {
			puts[i] = newKeyedPut(t, "same", "f")
		}
		results := make([]storagefirst.KeyedResult, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = q.PutKeyed(ctx, puts[i])
			}()
		}
		wg.Wait()
		var stored []string
		for i := range n {
			require.NoError(t, errs[i], "concurrent puts of one key wait for each other")
			if results[i].Stored {
				stored = append(stored, puts[i].Envelope.ID)
			}
		}
		require.Len(t, stored, 1)
		for i := range n {
			if !results[i].Stored {
				var acc struct{ ID string }
				require.NoError(t, json.Unmarshal(results[i].Record.Outcome.Result, &acc))
				require.Equal(t, stored[0], acc.ID, "every repeat gets the first answer")
			}
		}
		require.Equal(t, stored, keyedClaimAll(t, q))
	})
	t.Run("RefusesAnInvalidPut", func(t *testing.T) {
		t.Parallel()
		q := newQueue(t)
		p := newKeyedPut(t, "", "f")
		_, err := q.PutKeyed(suiteCtx(t), p)
		require.Error(t, err)
		require.True(t, storagefirst.IsPermanent(err), "%v", err)
		require.Empty(t, keyedClaimAll(t, q))
	})
}

// newKeyedPut is a put of a new envelope under key, answering with its ID.
func newKeyedPut(t *testing.T, key, fingerprint string) storagefirst.KeyedPut {
	t.Helper()
	env, err := storagefirst.NewEnvelope("sftest.keyed", []byte(`{"n":1}`))
	require.NoError(t, err)
	env.IdempotencyKey = key
	answer, err := json.Marshal(map[string]string{"id": env.ID})
	require.NoError(t, err)
	return storagefirst.KeyedPut{Scope: "sftest", Key: key, Fingerprint: fingerprint, Answer: answer, Envelope: env}
}

// keyedClaimAll claims every due envelope and returns their IDs.
func keyedClaimAll(t *testing.T, q storagefirst.Queue) []string {
	t.Helper()
	ds, err := q.Claim(suiteCtx(t), 100, time.Minute)
	require.NoError(t, err)
	ids := []string{}
	for _, d := range ds {
		ids = append(ids, d.Envelope.ID)
	}
	return ids
}
