package sqlitestore_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// TestPutLeftBehindByItsContextIsOfUnknownOutcome: a Put whose context ends while
// its envelope is in a group commit that has started (which goes on without it)
// may still be stored, so its error says the outcome is unknown; and indeed the
// envelope commits once the file's write lock is free.
func TestPutLeftBehindByItsContextIsOfUnknownOutcome(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "store.db")
	s := open(t, path)
	q, err := s.Queue("orders")
	require.NoError(t, err)

	// Another connection holds the file's write lock.
	unlock := lockFile(t, path)

	// A first Put takes the one group-commit slot and waits for the lock until
	// its deadline; a second one queues behind it, and its group commit starts
	// when the first gives up.
	first, err := storagefirst.NewEnvelope("test", []byte(`{}`))
	require.NoError(t, err)
	firstCtx, cancelFirst := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancelFirst()
	firstDone := make(chan error, 1)
	go func() { firstDone <- q.Put(firstCtx, first) }()
	require.Eventually(t, func() bool { return s.PutBatches() > 0 }, 10*time.Second, time.Millisecond)

	second, err := storagefirst.NewEnvelope("test", []byte(`{}`))
	require.NoError(t, err)
	secondCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	err = q.Put(secondCtx, second)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorIs(t, err, storagefirst.ErrOutcomeUnknown, "the group commit goes on without the caller")
	require.Error(t, <-firstDone)
	require.Equal(t, int64(2), s.PutBatches(), "the second Put's group commit started")

	require.NoError(t, unlock())
	// The left-behind envelope commits: the error was right not to say "not stored".
	require.Eventually(t, func() bool {
		st, err := q.Stats(ctx)
		return err == nil && st.Ready == 1
	}, 10*time.Second, 5*time.Millisecond)
	ds, err := q.Claim(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, second.ID, ds[0].Envelope.ID)
}
