package pgstore_test

import (
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/pgstore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// TestBeginBatchIsolatesARejectedKey: a key Postgres refuses (a NUL byte; one too
// long for the index) fails alone; the keys batched with it are claimed.
func TestBeginBatchIsolatesARejectedKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	long := make([]byte, 8000)
	_, _ = rand.Read(long)
	for name, bad := range map[string]string{"NUL": "bad\x00", "too long": hex.EncodeToString(long)} {
		t.Run(name, func(t *testing.T) {
			acq, toks, err := pgstore.BeginBatch(testCtx(t), b.store, "s-"+name, "good-1", bad, "good-2")
			require.Error(t, err, "the bad key fails")
			require.Equal(t, []bool{true, false, true}, acq, "the good keys are claimed")
			require.NotZero(t, toks[0])
			require.NotZero(t, toks[2])
		})
	}
}

// TestBeginRefusesAnInvalidKey: Begin refuses a key with a NUL byte or invalid
// UTF-8 before it joins a batch, permanently, with ErrInvalidIdempotencyKey; so
// does NewIdempotencyStore's.
func TestBeginRefusesAnInvalidKey(t *testing.T) {
	t.Parallel()
	bothIdempotencyStores(t, func(t *testing.T, _ *bundle, idem *pgstore.IdempotencyStore) {
		beginRefusesAnInvalidKey(t, idem)
	})
}

func beginRefusesAnInvalidKey(t *testing.T, idem *pgstore.IdempotencyStore) {
	for _, k := range []string{"bad\x00", "bad\xff"} {
		_, err := idem.Begin(testCtx(t), "s", k, "", time.Minute)
		require.ErrorIs(t, err, pgstore.ErrInvalidIdempotencyKey)
		require.True(t, storagefirst.IsPermanent(err))
	}
	long := make([]byte, 8000)
	_, _ = rand.Read(long)
	_, err := idem.Begin(testCtx(t), "s", hex.EncodeToString(long), "", time.Minute)
	require.ErrorIs(t, err, pgstore.ErrInvalidIdempotencyKey, "rejected by the database, alone")
	require.True(t, storagefirst.IsPermanent(err))
}
