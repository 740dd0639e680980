package sqlitestore_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/sqlitestore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/workflow"
)

// waitDeadline is the callers' deadline in these tests, and waitMargin what a call
// may take beyond it.
const (
	waitDeadline = 200 * time.Millisecond
	waitMargin   = time.Second
)

// holdWriter holds what every write of s waits for until the test ends: the
// Store's one writer (a long WriteTx), or the file's write lock taken by another
// connection (another process, a tool), which SQLite's busy handler waits for
// without heeding any context.
type holdWriter func(t *testing.T, s *sqlitestore.Store, path string)

func holdWriteTx(t *testing.T, s *sqlitestore.Store, _ string) {
	held, release, done := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() {
		done <- s.WriteTx(context.Background(), func(*sql.Tx) error { close(held); <-release; return nil })
	}()
	<-held
	t.Cleanup(func() { close(release); <-done })
}

func holdFileLock(t *testing.T, _ *sqlitestore.Store, path string) { lockFile(t, path) }

// lockFile takes the write lock of the file at path from another connection (as
// another process or a tool would) until release is called or the test ends.
// release reports the error of the ROLLBACK that frees the lock.
func lockFile(t *testing.T, path string) (release func() error) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	_, err = conn.ExecContext(ctx, "BEGIN IMMEDIATE")
	require.NoError(t, err)
	release = sync.OnceValue(func() error {
		_, err := conn.ExecContext(ctx, "ROLLBACK")
		return errors.Join(err, conn.Close(), db.Close())
	})
	t.Cleanup(func() { _ = release() })
	return release
}

// TestEveryWaitHonoursTheContext: while the writer is held, by a long WriteTx or
// by another connection's lock, every call that writes returns the caller's
// context error within its deadline (plus a margin), instead of waiting out a
// fixed busy timeout (it was 10 s), and every call that reads is not held up.
func TestEveryWaitHonoursTheContext(t *testing.T) {
	t.Parallel()
	for name, hold := range map[string]holdWriter{"LongWriteTx": holdWriteTx, "AnotherConnectionsLock": holdFileLock} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "store.db")
			s := open(t, path)
			q, err := s.Queue("q")
			require.NoError(t, err)
			in := make([]storagefirst.Envelope, 5)
			for i := range in {
				in[i], err = storagefirst.NewEnvelope("t", []byte(`{}`))
				require.NoError(t, err)
			}
			require.NoError(t, q.Put(ctx, in[:4]...))
			ds, err := q.Claim(ctx, 4, time.Hour)
			require.NoError(t, err)
			require.Len(t, ds, 4)
			require.NoError(t, q.DeadLetter(ctx, ds[3].Lease, storagefirst.Failure{Error: "dead"}))
			idem := s.Idempotency()
			begun, err := idem.Begin(ctx, "s", "k", "", time.Hour)
			require.NoError(t, err)
			exec := workflow.Execution{ID: "x1", Workflow: "w", Status: workflow.StatusRunning, Version: 1,
				StartedAt: time.Now(), Deadline: time.Now().Add(time.Hour)}
			require.NoError(t, s.Workflows().Create(ctx, exec))
			exec.Version++

			hold(t, s, path)

			writes := map[string]func(context.Context) error{
				"Put": func(ctx context.Context) error { return q.Put(ctx, in[4]) },
				"Claim": func(ctx context.Context) error {
					_, err := q.Claim(ctx, 1, time.Minute)
					return err
				},
				"Extend": func(ctx context.Context) error {
					_, err := q.Extend(ctx, ds[0].Lease, time.Hour)
					return err
				},
				"Ack":     func(ctx context.Context) error { return q.Ack(ctx, ds[0].Lease) },
				"Retry":   func(ctx context.Context) error { return q.Retry(ctx, ds[1].Lease, 0, storagefirst.Failure{Error: "x"}) },
				"Release": func(ctx context.Context) error { return q.Release(ctx, ds[2].Lease) },
				"DeadLetter": func(ctx context.Context) error {
					return q.DeadLetter(ctx, ds[2].Lease, storagefirst.Failure{Error: "x"})
				},
				"Requeue":    func(ctx context.Context) error { return q.Requeue(ctx, ds[3].Lease.ID) },
				"DeleteDead": func(ctx context.Context) error { return q.DeleteDead(ctx, ds[3].Lease.ID) },
				"SendDeadLetter": func(ctx context.Context) error {
					return q.SendDeadLetter(ctx, storagefirst.DeadLetter{Envelope: in[4]})
				},
				"WriteTx": func(ctx context.Context) error {
					return s.WriteTx(ctx, func(*sql.Tx) error { return nil })
				},
				"IdempotencyBegin": func(ctx context.Context) error {
					_, err := idem.Begin(ctx, "s", "k2", "", time.Minute)
					return err
				},
				"IdempotencyComplete": func(ctx context.Context) error {
					return idem.Complete(ctx, begun.Claim, storagefirst.Outcome{}, time.Hour)
				},
				"IdempotencyRelease": func(ctx context.Context) error { return idem.Release(ctx, begun.Claim) },
				"IdempotencyDelete":  func(ctx context.Context) error { return idem.Delete(ctx, "s", "k") },
				"IdempotencyReap": func(ctx context.Context) error {
					_, err := idem.Reap(ctx, time.Hour, 0)
					return err
				},
				"WorkflowCreate": func(ctx context.Context) error {
					e := exec
					e.ID = "x2"
					return s.Workflows().Create(ctx, e)
				},
				"WorkflowUpdate": func(ctx context.Context) error { return s.Workflows().Update(ctx, exec) },
			}
			for name, call := range writes {
				t.Run(name+"/Deadline", func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), waitDeadline)
					defer cancel()
					start := time.Now()
					err := call(ctx)
					took := time.Since(start)
					require.ErrorIs(t, err, context.DeadlineExceeded)
					require.Less(t, took, waitDeadline+waitMargin)
				})
				t.Run(name+"/Cancel", func(t *testing.T) {
					ctx, cancel := context.WithCancel(context.Background())
					stop := time.AfterFunc(waitDeadline, cancel) // the cancellation under test, not synchronisation
					defer stop.Stop()
					start := time.Now()
					err := call(ctx)
					took := time.Since(start)
					require.ErrorIs(t, err, context.Canceled)
					require.Less(t, took, waitDeadline+waitMargin)
				})
			}

			// Reads are not held up by a writer: the writer is held until the test
			// ends, so a read that waited for it would run into this deadline, which
			// is generous only so that a loaded machine's scheduling does not count.
			rctx, cancel := context.WithTimeout(context.Background(), 10*waitDeadline+waitMargin)
			defer cancel()
			_, err = q.Stats(rctx)
			require.NoError(t, err)
			_, err = q.ListDead(rctx, storagefirst.DeadLetterFilter{})
			require.NoError(t, err)
			_, err = idem.Get(rctx, "s", "k")
			require.NoError(t, err)
			_, err = s.Workflows().Get(rctx, "x1")
			require.NoError(t, err)
		})
	}
}

// TestLockWaitHasABackstop: a call whose context has no deadline still stops
// waiting for another connection's lock after Config.BusyTimeout.
func TestLockWaitHasABackstop(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "store.db")
	const backstop = 300 * time.Millisecond
	s, err := sqlitestore.Open(context.Background(), path, sqlitestore.Config{BusyTimeout: backstop})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	q, err := s.Queue("q")
	require.NoError(t, err)
	env, err := storagefirst.NewEnvelope("t", []byte(`{}`))
	require.NoError(t, err)
	holdFileLock(t, s, path)

	start := time.Now()
	err = q.Put(context.Background(), env)
	took := time.Since(start)
	require.ErrorContains(t, err, "SQLITE_BUSY")
	require.GreaterOrEqual(t, took, backstop-50*time.Millisecond)
	require.Less(t, took, backstop+waitMargin)
}

// TestSeveralStatementsWaitForALock: an Exec of several statements, which the
// store cannot run again once one has committed, waits for another connection's
// lock until its deadline instead of failing after one slice of it.
func TestSeveralStatementsWaitForALock(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "store.db")
	s := open(t, path)
	ctx := context.Background()
	unlock := lockFile(t, path)
	released := make(chan error, 1)
	time.AfterFunc(300*time.Millisecond, func() { released <- unlock() }) // the other connection holds the lock this long

	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := s.DB().ExecContext(dctx, `CREATE TABLE a (x INTEGER); CREATE TABLE b (y INTEGER)`)
	require.NoError(t, err)
	require.NoError(t, <-released)
}
