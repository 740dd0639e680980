package pgstore_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/pgstore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

func newEnvs(t testing.TB, n int) []storagefirst.Envelope {
	out := make([]storagefirst.Envelope, n)
	for i := range out {
		e, err := storagefirst.NewEnvelopeJSON("test", map[string]int{"n": i})
		require.NoError(t, err)
		out[i] = e
	}
	return out
}

func TestEnqueueReportsDuplicates(t *testing.T) {
	t.Parallel()
	b := setup(t)
	q := b.queue(t, "q")
	ctx := testCtx(t)
	in := newEnvs(t, 3)
	res, err := q.Enqueue(ctx, in[0], in[1])
	require.NoError(t, err)
	require.Equal(t, []string{in[0].ID, in[1].ID}, res.Inserted)
	require.Empty(t, res.Duplicates)
	res, err = q.Enqueue(ctx, in[1], in[2], in[2])
	require.NoError(t, err)
	require.Equal(t, []string{in[2].ID}, res.Inserted)
	require.Equal(t, []string{in[1].ID, in[2].ID}, res.Duplicates)
}

func TestQueuesAreSeparate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a, other := b.queue(t, "a"), b.queue(t, "b")
	ctx := testCtx(t)
	in := newEnvs(t, 1)
	require.NoError(t, a.Put(ctx, in...))
	require.NoError(t, other.Put(ctx, in...)) // the same ID may live in two queues
	ds, err := other.Claim(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	ds, err = a.Claim(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	_, err = b.store.Queue("")
	require.ErrorIs(t, err, pgstore.ErrInvalidQueueName)
}

func TestPutTxIsInvisibleUntilCommit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	q := b.queue(t, "outbox")
	ctx := testCtx(t)
	in := newEnvs(t, 2)

	// Rolled back: never visible.
	tx, err := b.pool.Begin(ctx)
	require.NoError(t, err)
	_, err = q.PutTx(ctx, tx, in[0])
	require.NoError(t, err)
	require.NoError(t, tx.Rollback(ctx))
	ds, err := q.Claim(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, ds)

	// Committed: visible only after the commit, seen from another connection.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wake := q.Wake(wctx)
	tx, err = b.pool.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "CREATE TABLE "+b.schema+".orders (id text primary key)")
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "INSERT INTO "+b.schema+".orders VALUES ($1)", in[1].ID)
	require.NoError(t, err)
	res, err := q.PutTx(ctx, tx, in[1])
	require.NoError(t, err)
	require.Equal(t, []string{in[1].ID}, res.Inserted)
	ds, err = q.Claim(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, ds, "visible before commit")
	require.NoError(t, tx.Commit(ctx))
	ds, err = q.Claim(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, in[1].ID, ds[0].Envelope.ID)
	select {
	case <-wake:
	case <-ctx.Done():
		require.FailNow(t, "no wake-up after the commit")
	}
}

func TestClaimSkipsLockedRowsAndRollbackReleasesThem(t *testing.T) {
	t.Parallel()
	b := setup(t)
	q := b.queue(t, "q")
	ctx := testCtx(t)
	in := newEnvs(t, 2)
	require.NoError(t, q.Put(ctx, in...))

	// Another session locks the first row, as a claim in an open transaction would.
	tx, err := b.pool.Begin(ctx)
	require.NoError(t, err)
	var id string
	require.NoError(t, tx.QueryRow(ctx, "SELECT id FROM "+b.schema+".envelopes WHERE id = $1 FOR UPDATE", in[0].ID).Scan(&id))
	ds, err := q.Claim(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, in[1].ID, ds[0].Envelope.ID, "the locked row is skipped, not waited for")
	require.NoError(t, tx.Rollback(ctx))
	ds, err = q.Claim(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, in[0].ID, ds[0].Envelope.ID)
}

func TestTwoStoresNeverHoldTheSameEnvelope(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other := newStore(t, newPool(t, b.url), b.schema) // a second process, in effect
	q1 := b.queue(t, "q")
	q2, err := other.Queue("q")
	require.NoError(t, err)
	ctx := testCtx(t)
	const n = 300
	require.NoError(t, q1.Put(ctx, newEnvs(t, n)...))
	var mu sync.Mutex
	held := map[string]int{}
	var wg sync.WaitGroup
	for _, q := range []*pgstore.Queue{q1, q2, q1, q2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ds, err := q.Claim(ctx, 5, time.Minute)
				if !assertNoErr(t, err) || len(ds) == 0 {
					return
				}
				mu.Lock()
				for _, d := range ds {
					held[d.Envelope.ID]++
				}
				mu.Unlock()
				for _, d := range ds {
					assertNoErr(t, q.Ack(ctx, d.Lease))
				}
			}
		}()
	}
	wg.Wait()
	require.Len(t, held, n)
	for id, c := range held {
		require.Equal(t, 1, c, id)
	}
}

func assertNoErr(t *testing.T, err error) bool {
	if err != nil {
		t.Error(err)
		return false
	}
	return true
}

func TestGroupCommitAnswersEveryCallerOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	q := b.queue(t, "q")
	ctx := testCtx(t)
	const callers, each = 64, 5
	var wg sync.WaitGroup
	var answered atomic.Int32
	start := make(chan struct{})
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := newEnvs(t, each)
			<-start
			res, err := q.Enqueue(ctx, in...)
			if assertNoErr(t, err) && len(res.Inserted) == each {
				answered.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	require.Equal(t, int32(callers), answered.Load())
	var rows int
	require.NoError(t, b.pool.QueryRow(ctx, "SELECT count(*) FROM "+b.schema+".envelopes").Scan(&rows))
	require.Equal(t, callers*each, rows)
	st := b.store.BatchStats()
	require.Equal(t, int64(callers*each), st.PutEnvelopes)
	require.Less(t, st.PutBatches, int64(callers), "concurrent puts share transactions")
	t.Logf("%d envelopes in %d transactions", st.PutEnvelopes, st.PutBatches)
}

func TestGroupCommitFailureReachesEveryCaller(t *testing.T) {
	t.Parallel()
	b := setup(t)
	q := b.queue(t, "q")
	ctx := testCtx(t)
	// Break the table so every insert fails, then put from many callers at once.
	_, err := b.pool.Exec(ctx, "ALTER TABLE "+b.schema+".envelopes RENAME TO envelopes_gone")
	require.NoError(t, err)
	const callers = 32
	var wg sync.WaitGroup
	var failed atomic.Int32
	start := make(chan struct{})
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := newEnvs(t, 2)
			<-start
			if err := q.Put(ctx, in...); err != nil {
				require.NotErrorIs(t, err, storagefirst.ErrInvalidEnvelope)
				failed.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	require.Equal(t, int32(callers), failed.Load(), "every caller of a failed batch is told")
	_, err = b.pool.Exec(ctx, "ALTER TABLE "+b.schema+".envelopes_gone RENAME TO envelopes")
	require.NoError(t, err)
	require.NoError(t, q.Put(ctx, newEnvs(t, 1)...))
}

func TestPutRespectsTheCallersContext(t *testing.T) {
	t.Parallel()
	b := setup(t)
	q := b.queue(t, "q")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := q.Put(ctx, newEnvs(t, 1)...)
	require.ErrorIs(t, err, context.Canceled)
}

func TestMigrateConcurrentlyAndAgain(t *testing.T) {
	t.Parallel()
	b := setup(t) // already migrated once, in its own schema
	ctx := testCtx(t)
	applied, err := b.store.Migrate(ctx)
	require.NoError(t, err)
	require.Empty(t, applied, "re-run is a no-op")

	// A fresh schema, migrated by four instances at once: two through a Store,
	// two through the package's Migrate (a deploy step without a Store).
	fresh := b.schema + "_fresh"
	t.Cleanup(func() { _, _ = b.pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+fresh+" CASCADE") })
	var wg sync.WaitGroup
	var total atomic.Int32
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 1 {
				got, err := pgstore.Migrate(ctx, b.pool, fresh)
				assertNoErr(t, err)
				total.Add(int32(len(got)))
				return
			}
			s, err := pgstore.New(b.pool, pgstore.Config{Schema: fresh})
			if !assertNoErr(t, err) {
				return
			}
			defer s.Close()
			got, err := s.Migrate(ctx)
			assertNoErr(t, err)
			total.Add(int32(len(got)))
		}()
	}
	wg.Wait()
	ms, err := pgstore.Migrations()
	require.NoError(t, err)
	require.Equal(t, int32(len(ms)), total.Load(), "each version applied exactly once")
	s, err := pgstore.New(b.pool, pgstore.Config{Schema: fresh})
	require.NoError(t, err)
	defer s.Close()
	versions, err := s.MigrationStatus(ctx)
	require.NoError(t, err)
	require.Len(t, versions, len(ms))
	again, err := pgstore.Migrate(ctx, b.pool, fresh)
	require.NoError(t, err)
	require.Empty(t, again, "re-run is a no-op")
}

// The package's Migrate validates as New does, before it touches the database.
func TestMigrateWithoutAStoreValidates(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := pgstore.Migrate(testCtx(t), b.pool, "a-b")
	require.ErrorIs(t, err, pgstore.ErrInvalidSchema)
	_, err = pgstore.Migrate(testCtx(t), nil, b.schema)
	require.ErrorContains(t, err, "needs a pool")
}

func TestSchemaNameIsValidated(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, bad := range []string{"Robert'); DROP TABLE students;--", "a-b", "1abc", "UPPER"} {
		_, err := pgstore.New(b.pool, pgstore.Config{Schema: bad})
		require.ErrorIs(t, err, pgstore.ErrInvalidSchema, bad)
		_, err = pgstore.NewIdempotencyStore(b.pool, pgstore.Config{Schema: bad})
		require.ErrorIs(t, err, pgstore.ErrInvalidSchema, bad)
	}
	_, err := pgstore.NewIdempotencyStore(nil, pgstore.Config{WriteTimeout: -1})
	require.ErrorContains(t, err, "needs a pool")
	require.ErrorContains(t, err, "WriteTimeout must not be negative")
}

func TestAckOfAStaleLeaseInTheSameBatch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	q := b.queue(t, "q")
	ctx := testCtx(t)
	require.NoError(t, q.Put(ctx, newEnvs(t, 1)...))
	ds, err := q.Claim(ctx, 1, time.Minute)
	require.NoError(t, err)
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- q.Ack(ctx, ds[0].Lease) }()
	}
	e1, e2 := <-errs, <-errs
	require.True(t, (e1 == nil) != (e2 == nil), "exactly one ack wins: %v, %v", e1, e2)
	require.True(t, errors.Is(e1, storagefirst.ErrLeaseLost) || errors.Is(e2, storagefirst.ErrLeaseLost))
}
