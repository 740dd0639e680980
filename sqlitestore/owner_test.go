package sqlitestore_test

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/sqlitestore"
)

// TestSecondOpenInTheSameProcessFails: two Stores on one file would release each
// other's leases; the second Open fails at once and names the file.
func TestSecondOpenInTheSameProcessFails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "store.db")
	s := open(t, path)
	q, _, d := leaseOne(ctx, t, s)

	start := time.Now()
	s2, err := sqlitestore.Open(ctx, path, sqlitestore.Config{})
	if s2 != nil {
		_ = s2.Close()
	}
	require.ErrorIs(t, err, sqlitestore.ErrStoreInUse)
	require.ErrorContains(t, err, path)
	require.Less(t, time.Since(start), time.Second, "fails at once")
	// The owner's lease was left alone: it still acknowledges.
	require.NoError(t, q.Ack(ctx, d.Lease))

	// Once the owner closes, the file is free again.
	require.NoError(t, s.Close())
	open(t, path)
}

// holdEnv names the store file a helper process (this test binary, re-run) owns.
const holdEnv = "SQLITESTORE_TEST_HOLD"

// TestOwnerInAnotherProcess: while another process owns the file, Open fails with
// ErrStoreInUse and leaves its leases and claims alone; once that process is
// killed, Open succeeds and releases what it held.
func TestOwnerInAnotherProcess(t *testing.T) {
	if path := os.Getenv(holdEnv); path != "" {
		holdStore(t, path)
		return
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	path := filepath.Join(t.TempDir(), "store.db")

	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestOwnerInAnotherProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), holdEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe() // the helper exits when this test's process ends
	require.NoError(t, err)
	t.Cleanup(func() { _ = stdin.Close() })
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewScanner(stdout)
	var id string
	for lines.Scan() {
		if l := lines.Text(); len(l) > len("holding ") && l[:len("holding ")] == "holding " {
			id = l[len("holding "):]
			break
		}
	}
	require.NotEmpty(t, id, "the helper did not report its lease: %v", lines.Err())

	_, err = sqlitestore.Open(ctx, path, sqlitestore.Config{})
	require.ErrorIs(t, err, sqlitestore.ErrStoreInUse)
	require.ErrorContains(t, err, path)
	require.ErrorContains(t, err, "pid ")

	require.NoError(t, cmd.Process.Signal(os.Kill))
	_ = cmd.Wait()

	s := open(t, path)
	q, err := s.Queue("q")
	require.NoError(t, err)
	ds, err := q.Claim(ctx, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1, "the dead owner's lease is released at once")
	require.Equal(t, id, ds[0].Envelope.ID)
	require.Equal(t, 2, ds[0].Envelope.Attempt)
	res, err := s.Idempotency().Begin(ctx, "s", id, "", time.Minute)
	require.NoError(t, err)
	require.True(t, res.Acquired, "the dead owner's claim is released")
}

// holdStore is the helper process: it opens the store, leases an envelope and
// claims its key for an hour, reports the envelope's ID and waits to be killed
// (or for its parent to end, which closes its standard input).
func holdStore(t *testing.T, path string) {
	ctx := context.Background()
	s, err := sqlitestore.Open(ctx, path, sqlitestore.Config{})
	require.NoError(t, err)
	_, env, _ := leaseOne(ctx, t, s)
	res, err := s.Idempotency().Begin(ctx, "s", env.ID, "", time.Hour)
	require.NoError(t, err)
	require.True(t, res.Acquired)
	_, err = os.Stdout.WriteString("holding " + env.ID + "\n")
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// TestCloseTwice: a second Close does not fail on the released owner lock, and
// does not release a lock a later Store took.
func TestCloseTwice(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "store.db")
	s, err := sqlitestore.Open(context.Background(), path, sqlitestore.Config{})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	s2 := open(t, path)
	require.NoError(t, s.Close())
	_, err = sqlitestore.Open(context.Background(), path, sqlitestore.Config{})
	require.ErrorIs(t, err, sqlitestore.ErrStoreInUse, "the second Close released the new owner's lock")
	require.NotNil(t, s2)
}
