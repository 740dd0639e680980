package sftest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// QueueBackend is what RunQueueSuite needs from a backend under test.
type QueueBackend interface {
	storagefirst.Queue
	storagefirst.DeadLetters
	storagefirst.StatsReporter
}

// QueueFeatures says what a backend offers beyond the Queue contract, in the style
// of Watermill's tests.Features.
type QueueFeatures struct {
	// Reopen, if set, closes the given backend and opens a new one on the same
	// storage; the suite then checks that what was stored survives.
	Reopen func(t *testing.T, old QueueBackend) QueueBackend
	// RejectType, if set, makes the backend's database refuse to store envelopes
	// of type typ (a constraint or trigger Validate cannot know of); the suite then
	// checks that such a row fails only its own envelope.
	RejectType func(t *testing.T, q QueueBackend, typ string)
	// ReopenReleasesLeases says Reopen gives back the leases and idempotency claims
	// the old backend held (a store owned by one process takes them for a dead
	// one's): their envelopes are due at once and the old holders fenced.
	// Otherwise they survive a reopen, holding and expiring as if nothing happened.
	ReopenReleasesLeases bool
	// Idempotency, if set, returns the idempotency store kept in the same storage
	// as the backend, so that the reopen cases check its records too.
	Idempotency func(t *testing.T, q QueueBackend) storagefirst.IdempotencyStore
	// SingleOwner, if set, says the backend is an embedded store with one owner:
	// it opens a second backend on the storage of live, which is in use, and
	// returns the error of that open (closing the backend if it opened). The
	// suite requires an error and the live backend's leases left alone.
	SingleOwner func(t *testing.T, live QueueBackend) error
	// Stall, if set, holds what every write of q waits for (a lock, its one
	// writer) until the test ends; the suite then checks that each write returns
	// the caller's context error within its deadline or cancellation.
	Stall func(t *testing.T, q QueueBackend)
}

// suiteTimeout bounds every wait of the suites; they poll, never sleep.
const suiteTimeout = 15 * time.Second

// shortLease is long enough for a claim round trip and short enough to wait out.
const shortLease = 300 * time.Millisecond

// RunQueueSuite runs the Queue conformance suite: every subtest gets a fresh, empty
// backend from newBackend and runs in parallel with the others. The Consumer* cases
// run a storagefirst.Consumer over the backend (poison past max attempts, shutdown
// at random points leaving nothing leased, lease extension).
func RunQueueSuite(t *testing.T, newBackend func(t *testing.T) QueueBackend, features QueueFeatures) {
	tests := []struct {
		name string
		run  func(t *testing.T, q QueueBackend)
	}{
		{"PutClaimAck", testPutClaimAck},
		{"PutIsIdempotentByID", testPutIdempotent},
		{"EnqueueReportsInsertedAndDuplicates", testEnqueueResult},
		{"PutRejectsInvalidEnvelopes", testPutInvalid},
		{"ClaimIsExclusiveUnderConcurrency", testClaimExclusive},
		{"ExpiredLeaseIsRedelivered", testLeaseExpiry},
		{"ExtendKeepsTheLease", testExtend},
		{"RetryIsScheduled", testRetrySchedule},
		{"ReleaseDoesNotCountAnAttempt", testRelease},
		{"DeadLetterKeepsHistory", testDeadLetter},
		{"FailureHistoryIsBounded", testHistoryBounded},
		{"StaleLeaseIsFenced", testStaleLease},
		{"PutNeverRevivesADeadLetter", testPutNeverRevives},
		{"PutRejectsWhatStoresCannotHold", testPutUnstorable},
		{"FailureWithNULReachesTheDeadLetters", testFailureWithNUL},
		{"Stats", testStats},
		{"Wake", testWake},
		{"ListDeadPaging", testListDeadPaging},
		{"CanceledContextChangesNothing", testCanceledContext},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newBackend(t))
		})
	}
	t.Run("RejectedRowFailsOnlyItself", func(t *testing.T) {
		if features.RejectType == nil {
			t.Skip("backend has no database to reject a row")
		}
		t.Parallel()
		testRejectedRow(t, newBackend(t), features.RejectType)
	})
	runConsumerSuite(t, newBackend)
	t.Run("SurvivesReopen", func(t *testing.T) {
		if features.Reopen == nil {
			t.Skip("backend is not durable across a reopen")
		}
		t.Parallel()
		testReopen(t, newBackend(t), features.Reopen)
	})
	t.Run("ReopenWithInFlightLeasesAndIdempotencyRecords", func(t *testing.T) {
		if features.Reopen == nil {
			t.Skip("backend is not durable across a reopen")
		}
		t.Parallel()
		testReopenInFlight(t, newBackend(t), features)
	})
	t.Run("StalledWritesHonourTheContext", func(t *testing.T) {
		if features.Stall == nil {
			t.Skip("backend offers no way to stall its writes")
		}
		t.Parallel()
		testStalledWrites(t, newBackend(t), features.Stall)
	})
	t.Run("SingleOwnerForAnEmbeddedStore", func(t *testing.T) {
		if features.SingleOwner == nil {
			t.Skip("backend is not an embedded store with one owner")
		}
		t.Parallel()
		testSingleOwner(t, newBackend(t), features.SingleOwner)
	})
}

func suiteCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), suiteTimeout)
	t.Cleanup(cancel)
	return ctx
}

// envs returns n valid envelopes of type "test", IDs in creation order.
func envs(t *testing.T, n int) []storagefirst.Envelope {
	out := make([]storagefirst.Envelope, n)
	for i := range out {
		e, err := storagefirst.NewEnvelope("test", fmt.Appendf(nil, `{"n":%d,"s":"héllo \u2603"}`, i))
		require.NoError(t, err)
		e.Source = "sftest"
		e.CorrelationID = fmt.Sprintf("corr-%d", i)
		e.Metadata = map[string]string{"i": fmt.Sprint(i)}
		out[i] = e
	}
	return out
}

// claimOne polls until one envelope is claimed.
func claimOne(t *testing.T, ctx context.Context, q storagefirst.Queue, lease time.Duration) storagefirst.Delivery {
	t.Helper()
	for {
		ds, err := q.Claim(ctx, 1, lease)
		require.NoError(t, err)
		if len(ds) == 1 {
			return ds[0]
		}
		require.NoError(t, ctx.Err(), "nothing was delivered before the deadline")
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Millisecond): // poll interval, not synchronisation
		}
	}
}

func requireNone(t *testing.T, ctx context.Context, q storagefirst.Queue) {
	t.Helper()
	ds, err := q.Claim(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, ds)
}

func requireSameEnvelope(t *testing.T, want, got storagefirst.Envelope) {
	t.Helper()
	require.Equal(t, want.ID, got.ID)
	require.Equal(t, want.Type, got.Type)
	require.Equal(t, want.Source, got.Source)
	require.True(t, want.AcceptedAt.Equal(got.AcceptedAt), "accepted at %v, got %v", want.AcceptedAt, got.AcceptedAt)
	require.Equal(t, want.IdempotencyKey, got.IdempotencyKey)
	require.Equal(t, want.CorrelationID, got.CorrelationID)
	require.Equal(t, want.Metadata, got.Metadata)
	require.JSONEq(t, string(want.Payload), string(got.Payload))
}

func testPutClaimAck(t *testing.T, q QueueBackend) {
	ctx := suiteCtx(t)
	in := envs(t, 3)
	in[1].IdempotencyKey = "key-1"
	require.NoError(t, q.Put(ctx, in...))
	ds, err := q.Claim(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 3)
	for i, d := range ds {
		requireSameEnvelope(t, in[i], d.Envelope)
		require.Equal(t, 1, d.Envelope.Attempt)
		require.Equal(t, in[i].ID, d.Lease.ID)
		require.Empty(t, d.Failures)
		require.True(t, d.Lease.Until.After(time.Now().Add(30*time.Second)))
	}
	requireNone(t, ctx, q)
	for _, d := range ds {
		require.NoError(t, q.Ack(ctx, d.Lease))
	}
	s, err := q.Stats(ctx)
	require.NoError(t, err)
	require.Zero(t, s.Depth())
}

func testPutIdempotent(t *testing.T, q QueueBackend) {
	ctx := suiteCtx(t)
	in := envs(t, 2)
	require.NoError(t, q.Put(ctx, in...))
	require.NoError(t, q.Put(ctx, in[0]))
	require.NoError(t, q.Put(ctx, in...))
	ds, err := q.Claim(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 2)
	// A repeat of an envelope that is in flight or done changes nothing.
	require.NoError(t, q.Put(ctx, in...))
	requireNone(t, ctx, q)
}

func testPutInvalid(t *testing.T, q QueueBackend) {
	ctx := suiteCtx(t)
	in := envs(t, 2)
	bad := in[1]
	bad.Type = ""
	err := q.Put(ctx, in[0], bad)
	var pe *storagefirst.PutError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, []string{bad.ID}, pe.FailedIDs())
	require.ErrorIs(t, err, storagefirst.ErrInvalidEnvelope)
	d := claimOne(t, ctx, q, time.Minute)
	require.Equal(t, in[0].ID, d.Envelope.ID)
	requireNone(t, ctx, q)
}

func testClaimExclusive(t *testing.T, q QueueBackend) {
	ctx := suiteCtx(t)
	const n, workers = 200, 8
	in := envs(t, n)
	require.NoError(t, q.Put(ctx, in...))
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ds, err := q.Claim(ctx, 7, time.Minute)
				if err != nil || len(ds) == 0 {
					require.NoError(t, err)
					return
				}
				mu.Lock()
				for _, d := range ds {
					seen[d.Envelope.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Len(t, seen, n)
	for id, c := range seen {
		require.Equal(t, 1, c, "envelope %s claimed %d times", id, c)
	}
}

func testLeaseExpiry(t *testing.T, q QueueBackend) {
	ctx := suiteCtx(t)
	in := envs(t, 1)
	require.NoError(t, q.Put(ctx, in...))
	first := claimOne(t, ctx, q, shortLease)
	second := claimOne(t, ctx, q, time.Minute)
	require.Equal(t, first.Envelope.ID, second.Envelope.ID)
	require.Equal(t, 2, second.Envelope.Attempt)
	require.NotEqual(t, first.Lease.Token, second.Lease.Token)
	require.ErrorIs(t, q.Ack(ctx, first.Lease), storagefirst.ErrLeaseLost)
	require.NoError(t, q.Ack(ctx, second.Lease))
	requireNone(t, ctx, q)
}

func testExtend(t *testing.T, q QueueBackend) {
	ctx := suiteCtx(t)
	require.NoError(t, q.Put(ctx, envs(t, 1)...))
	d := claimOne(t, ctx, q, shortLease)
	l, err := q.Extend(ctx, d.Lease, time.Minute)
	require.NoError(t, err)
	require.Equal(t, d.Lease.Token, l.Token)
	require.True(t, l.Until.After(time.Now().Add(30*time.Second)), "until %v", l.Until)
	// Past the original lease, the envelope is still held.
	deadline := d.Lease.Until.Add(shortLease)
	tick := time.NewTicker(20 * time.Millisecond) // waiting for time to pass is the point here
	defer tick.Stop()
	for time.Now().Before(deadline) {
		requireNone(t, ctx, q)
		<-tick.C
	}
	require.NoError(t, q.Ack(ctx, l))
}

func testRetrySchedule(t *testing.T, q QueueBackend) {
	ctx := suiteCtx(t)
	require.NoError(t, q.Put(ctx, envs(t, 1)...))
	d := claimOne(t, ctx, q, time.Minute)
	cause := errors.New("database is down")
	require.NoError(t, q.Retry(ctx, d.Lease, 2*shortLease, storagefirst.NewFailure(1, time.Now(), cause)))
	requireNone(t, ctx, q)
	s, err := q.Stats(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), s.Scheduled)
	again := claimOne(t, ctx, q, time.Minute)
	require.Equal(t, 2, again.Envelope.Attempt)
	require.Len(t, again.Failures, 1)
	require.Equal(t, 1, again.Failures[0].Attempt)
	require.Equal(t, "database is down", again.Failures[0].Error)
	require.Equal(t, "retryable", again.Failures[0].Class)
	require.NoError(t, q.Ack(ctx, again.Lease))
}

func testRelease(t *testing.T, q QueueBackend) {
	ctx := suiteCtx(t)
	require.NoError(t, q.Put(ctx, envs(t, 1)...))
	d := claimOne(t, ctx, q, time.Minute)
	require.NoError(t, q.Release(ctx, d.Lease))
	again := claimOne(t, ctx, q, time.Minute)
	require.Equal(t, 1, again.Envelope.Attempt)
	require.Empty(t, again.Failures)
	require.NoError(t, q.Ack(ctx, again.Lease))
}

func testDeadLetter(t *testing.T, q QueueBackend) {
	ctx := suiteCtx(t)
	in := envs(t, 2)
	require.NoError(t, q.Put(ctx, in[0]))
	d := claimOne(t, ctx, q, time.Minute)
	require.NoError(t, q.Retry(ctx, d.Lease, 0, storagefirst.NewFailure(1, time.Now(), errors.New("first"))))
	d = claimOne(t, ctx, q, time.Minute)
	require.Equal(t, in[0].ID, d.Envelope.ID)
	require.NoError(t, q.DeadLetter(ctx, d.Lease, storagefirst.NewFailure(2, time.Now(), storagefirst.Permanentf("bad order"))))
	require.ErrorIs(t, q.Ack(ctx, d.Lease), storagefirst.ErrLeaseLost)

	dead, err := q.ListDead(ctx, storagefirst.DeadLetterFilter{})
	require.NoError(t, err)
	require.Len(t, dead, 1)
	requireSameEnvelope(t, in[0], dead[0].Envelope)
	require.Len(t, dead[0].Failures, 2)
	require.Equal(t, "first", dead[0].FirstFailure().Error)
	require.Equal(t, "bad order", dead[0].LastFailure().Error)
	require.Equal(t, "permanent", dead[0].LastFailure().Class)
	require.False(t, dead[0].DeadAt.IsZero())
	s, err := q.Stats(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), s.Dead)

	none, err := q.ListDead(ctx, storagefirst.DeadLetterFilter{AfterID: in[0].ID})
	require.NoError(t, err)
	require.Empty(t, none)
	none, err = q.ListDead(ctx, storagefirst.DeadLetterFilter{Type: "other"})
	require.NoError(t, err)
	require.Empty(t, none)

	// Other envelopes are unaffected; then requeue the dead one.
	require.NoError(t, q.Put(ctx, in[1]))
	other := claimOne(t, ctx, q, time.Minute)
	require.Equal(t, in[1].ID, other.Envelope.ID)
	require.NoError(t, q.Ack(ctx, other.Lease))
	require.NoError(t, q.Requeue(ctx, in[0].ID))
	back := claimOne(t, ctx, q, time.Minute)
	require.Equal(t, in[0].ID, back.Envelope.ID)
	require.Equal(t, 1, back.Envelope.Attempt)
	require.Len(t, back.Failures, 2)
	require.NotEmpty(t, back.Envelope.Metadata[storagefirst.MetadataReplayedAt], "a requeue marks the replay")
	require.Equal(t, in[0].Metadata["i"], back.Envelope.Metadata["i"])
	require.NoError(t, q.DeadLetter(ctx, back.Lease, storagefirst.NewFailure(1, time.Now(), errors.New("again"))))
	require.NoError(t, q.DeleteDead(ctx, in[0].ID))
	require.ErrorIs(t, q.DeleteDead(ctx, in[0].ID), storagefirst.ErrNotFound)
	require.ErrorIs(t, q.Requeue(ctx, in[0].ID), storagefirst.ErrNotFound)
	s, err = q.Stats(ctx)
	require.NoError(t, err)
	require.Zero(t, s.Dead+s.Depth())
}

func testHistoryBounded(t *testing.T, q QueueBackend) {
	ctx := suiteCtx(t)
	require.NoError(t, q.Put(ctx, envs(t, 1)...))
	const rounds = storagefirst.MaxFailureHistory + 5
	var d storagefirst.Delivery
	for i := 1; i <= rounds; i++ {
		d = claimOne(t, ctx, q, time.Minute)
		require.Equal(t, i, d.Envelope.Attempt)
		require.NoError(t, q.Retry(ctx, d.Lease, 0, storagefirst.NewFailure(i, time.Now(), fmt.Errorf("failure %d", i))))
	}
	d = claimOne(t, ctx, q, time.Minute)
	require.Len(t, d.Failures, storagefirst.MaxFailureHistory)
	require.Equal(t, "failure 1", d.Failures[0].Error)
	require.Equal(t, fmt.Sprintf("failure %d", rounds), d.Failures[len(d.Failures)-1].Error)
}

func testStaleLease(t *testing.T, q QueueBackend) {
	ctx := suiteCtx(t)
	in := envs(t, 1)
	require.NoError(t, q.Put(ctx, in...))
	d := claimOne(t, ctx, q, time.Minute)
	stale := d.Lease
	stale.Token += 1000
	f := storagefirst.NewFailure(1, time.Now(), errors.New("x"))
	require.ErrorIs(t, q.Ack(ctx, stale), storagefirst.ErrLeaseLost)
	require.ErrorIs(t, q.Retry(ctx, stale, 0, f), storagefirst.ErrLeaseLost)
	require.ErrorIs(t, q.Release(ctx, stale), storagefirst.ErrLeaseLost)
	require.ErrorIs(t, q.DeadLetter(ctx, stale, f), storagefirst.ErrLeaseLost)
	_, err := q.Extend(ctx, stale, time.Minute)
	require.ErrorIs(t, err, storagefirst.ErrLeaseLost)
	unknown := storagefirst.Lease{ID: storagefirst.NewID(), Token: d.Lease.Token}
	require.ErrorIs(t, q.Ack(ctx, unknown), storagefirst.ErrLeaseLost)
	require.NoError(t, q.Ack(ctx, d.Lease))
	require.ErrorIs(t, q.Ack(ctx, d.Lease), storagefirst.ErrLeaseLost)
}

func testStats(t *testing.T, q QueueBackend) {
	ctx := suiteCtx(t)
	require.NoError(t, q.Put(ctx, envs(t, 3)...))
	d := claimOne(t, ctx, q, time.Minute)
	s, err := q.Stats(ctx)
	require.NoError(t, err)
	require.Equal(t, storagefirst.QueueStats{Ready: 2, InFlight: 1, OldestReadyAge: s.OldestReadyAge}, s)
	require.GreaterOrEqual(t, s.OldestReadyAge, time.Duration(0))
	require.Equal(t, int64(3), s.Depth())
	require.NoError(t, q.Ack(ctx, d.Lease))
}

func testWake(t *testing.T, q QueueBackend) {
	w, ok := storagefirst.Queue(q).(storagefirst.Waker)
	if !ok {
		t.Skip("backend does not implement storagefirst.Waker")
	}
	ctx := suiteCtx(t)
	wctx, cancel := context.WithCancel(ctx)
	c := w.Wake(wctx)
	// The subscription may take a moment to be live: put until woken.
	for woken := false; !woken; {
		require.NoError(t, q.Put(ctx, envs(t, 1)...))
		select {
		case <-c:
			woken = true
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			require.FailNow(t, "not woken before the deadline")
		}
	}
	cancel()
	for range c { // drained, then closed once ctx ends
	}
}

func testReopen(t *testing.T, q QueueBackend, reopen func(*testing.T, QueueBackend) QueueBackend) {
	ctx := suiteCtx(t)
	in := envs(t, 3)
	require.NoError(t, q.Put(ctx, in...))
	d := claimOne(t, ctx, q, time.Minute)
	require.NoError(t, q.DeadLetter(ctx, d.Lease, storagefirst.NewFailure(1, time.Now(), errors.New("boom"))))
	q = reopen(t, q)
	ds, err := q.Claim(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 2)
	requireSameEnvelope(t, in[1], ds[0].Envelope)
	dead, err := q.ListDead(ctx, storagefirst.DeadLetterFilter{})
	require.NoError(t, err)
	require.Len(t, dead, 1)
	requireSameEnvelope(t, in[0], dead[0].Envelope)
}

// testPutNeverRevives: a retried Put that lands after its envelope was
// dead-lettered is a duplicate (the Put succeeds, the request does not run again);
// only Requeue revives the dead letter.
func testPutNeverRevives(t *testing.T, q QueueBackend) {
	ctx := suiteCtx(t)
	in := envs(t, 1)
	require.NoError(t, q.Put(ctx, in...))
	d := claimOne(t, ctx, q, time.Minute)
	require.NoError(t, q.DeadLetter(ctx, d.Lease, storagefirst.NewFailure(1, time.Now(), errors.New("boom"))))
	requireNone(t, ctx, q)
	require.NoError(t, q.Put(ctx, in...), "a retried Put of a dead letter's ID counts as stored")
	require.NoError(t, q.Put(ctx, storagefirst.MarkReplayed(in[0], time.Now())), "a re-put replay too")
	requireNone(t, ctx, q)
	dead, err := q.ListDead(ctx, storagefirst.DeadLetterFilter{})
	require.NoError(t, err)
	require.Len(t, dead, 1, "the dead letter stays dead")
	requireSameEnvelope(t, in[0], dead[0].Envelope)
	require.Len(t, dead[0].Failures, 1)
	st, err := q.Stats(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), st.Dead)
	require.Zero(t, st.Depth())

	require.NoError(t, q.Requeue(ctx, in[0].ID), "an explicit replay revives it")
	back := claimOne(t, ctx, q, time.Minute)
	require.Equal(t, in[0].ID, back.Envelope.ID)
	require.Equal(t, 1, back.Envelope.Attempt)
	require.Len(t, back.Failures, 1, "the history stays")
	require.Contains(t, back.Envelope.Metadata, storagefirst.MetadataReplayedAt)
	dead, err = q.ListDead(ctx, storagefirst.DeadLetterFilter{})
	require.NoError(t, err)
	require.Empty(t, dead)
}
