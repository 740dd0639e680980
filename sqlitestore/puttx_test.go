package sqlitestore_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// PutTx reports what it stored like pgstore's: new IDs Inserted, repeats
// Duplicates; nothing is visible unless the transaction commits.
func TestPutTxReportsInsertedAndDuplicates(t *testing.T) {
	t.Parallel()
	s := fresh(t)
	q, err := s.Queue("outbox")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	in := make([]storagefirst.Envelope, 2)
	for i := range in {
		in[i], err = storagefirst.NewEnvelope("test", []byte(`{}`))
		require.NoError(t, err)
	}
	require.NoError(t, q.Put(ctx, in[0]))

	var res storagefirst.PutResult
	require.ErrorIs(t, s.WriteTx(ctx, func(tx *sql.Tx) error {
		_, err := q.PutTx(ctx, tx, in[1])
		require.NoError(t, err)
		return context.Canceled // roll back
	}), context.Canceled)
	st, err := q.Stats(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), st.Ready, "a rolled-back PutTx stores nothing")

	require.NoError(t, s.WriteTx(ctx, func(tx *sql.Tx) error {
		var err error
		res, err = q.PutTx(ctx, tx, in[0], in[1])
		return err
	}))
	require.Equal(t, []string{in[1].ID}, res.Inserted)
	require.Equal(t, []string{in[0].ID}, res.Duplicates)
	st, err = q.Stats(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(2), st.Ready)
}
