package workflow_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
	"github.com/storagefirst/storagefirst-go/workflow"
)

// flakyDest is a DeadLetterDestination that fails while told to, or a number of
// times.
type flakyDest struct {
	q       *sftest.MemoryQueue
	down    atomic.Bool
	failN   atomic.Int32
	attempt atomic.Int32
}

func (d *flakyDest) SendDeadLetter(ctx context.Context, dl storagefirst.DeadLetter) error {
	d.attempt.Add(1)
	if d.down.Load() || d.failN.Add(-1) >= 0 {
		return errors.New("dlq unavailable")
	}
	return d.q.SendDeadLetter(ctx, dl)
}

func (d *flakyDest) dead(t *testing.T) []storagefirst.DeadLetter {
	t.Helper()
	dls, err := d.q.ListDead(context.Background(), storagefirst.DeadLetterFilter{})
	require.NoError(t, err)
	return dls
}

// crashyStore fails the next update that makes an execution terminal: a crash
// between the dead letter and the terminal write.
type crashyStore struct {
	*workflow.MemoryStore
	crash atomic.Bool
}

func (s *crashyStore) Update(ctx context.Context, e workflow.Execution) error {
	if e.Status != workflow.StatusRunning && s.crash.CompareAndSwap(true, false) {
		return errors.New("crashed")
	}
	return s.MemoryStore.Update(ctx, e)
}

func crashedExecution(t *testing.T, store workflow.Store, now time.Time) string {
	t.Helper()
	exec := workflow.Execution{ID: storagefirst.NewID(), Workflow: "cancel", Status: workflow.StatusRunning,
		Input: json.RawMessage(`{"username":"lee"}`), State: "T", StateInput: json.RawMessage(`{"username":"lee"}`),
		StartedAt: now.Add(-time.Hour), Deadline: now.Add(-time.Hour), Version: 1}
	require.NoError(t, store.Create(context.Background(), exec))
	return exec.ID
}

// crashedEngine is an engine over a crashyStore and a flakyDest, and the ID of
// an execution of its workflow that a crash left RUNNING an hour past its
// deadline.
func crashedEngine(t *testing.T) (*workflow.Engine, *crashyStore, *flakyDest, *sftest.FakeClock, string) {
	t.Helper()
	run := task(func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, nil })
	wf, err := workflow.New("cancel", workflow.Definition{StartAt: "T", States: map[string]workflow.State{"T": workflow.Task{Run: run, End: true}}})
	require.NoError(t, err)
	clock := sftest.NewFakeClock(time.Now())
	store := &crashyStore{MemoryStore: workflow.NewMemoryStore()}
	dest := &flakyDest{q: sftest.NewMemoryQueue(nil)}
	e, err := workflow.NewEngine(workflow.EngineConfig{Store: store, DeadLetters: dest, Clock: clock}, wf)
	require.NoError(t, err)
	return e, store, dest, clock, crashedExecution(t, store, clock.Now())
}

// slowWorkflow has one Task that blocks until its context ends, under an
// execution timeout of 2 s.
func slowWorkflow(t *testing.T) *workflow.Workflow {
	t.Helper()
	blocking := task(func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	wf, err := workflow.New("slow", workflow.Definition{StartAt: "T", Timeout: 2 * time.Second, States: map[string]workflow.State{
		"T": workflow.Task{Run: blocking, End: true}}})
	require.NoError(t, err)
	return wf
}

// advanceWhile runs fn in a goroutine and moves the clock a step whenever
// something waits on it (besides `base` timers), until fn returns.
func advanceWhile(t *testing.T, clock *sftest.FakeClock, base int, step time.Duration, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case err := <-done:
			return err
		case <-deadline:
			t.Fatal("did not finish")
		case <-time.After(time.Millisecond): // poll
			if clock.Waiters() > base {
				clock.Advance(step)
			}
		}
	}
}

func TestSweepIsTerminalOnlyOnceTheDeadLetterIsDurable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, store, dest, clock, id := crashedEngine(t)

	// The destination is down: every retry under the policy fails, and the
	// execution stays RUNNING, for a later sweep.
	dest.down.Store(true)
	var n int
	err := advanceWhile(t, clock, 0, 100*time.Millisecond, func() (err error) { n, err = e.Sweep(ctx); return err })
	require.ErrorContains(t, err, "dlq unavailable")
	require.Zero(t, n)
	require.Equal(t, int32(4), dest.attempt.Load(), "1 attempt + 3 retries (DeadLetterRetry's default)")
	exec, err := store.Get(ctx, id)
	require.NoError(t, err)
	require.Equal(t, workflow.StatusRunning, exec.Status, "not FAILED while its dead letter is not stored")
	require.Empty(t, dest.dead(t))

	// A retry under the policy that succeeds is enough.
	dest.down.Store(false)
	dest.failN.Store(2)
	clock.Advance(workflow.SweepGraceDefault + time.Second)
	err = advanceWhile(t, clock, 0, 100*time.Millisecond, func() (err error) { n, err = e.Sweep(ctx); return err })
	require.NoError(t, err)
	require.Equal(t, 1, n)
	exec, err = store.Get(ctx, id)
	require.NoError(t, err)
	require.Equal(t, workflow.StatusFailed, exec.Status)
	require.Equal(t, workflow.ErrorInterrupted, exec.Error)
	dls := dest.dead(t)
	require.Len(t, dls, 1)
	require.Equal(t, id, dls[0].Envelope.ID)
	require.Equal(t, workflow.ErrorInterrupted, dls[0].LastFailure().Code)
}

func TestACrashBetweenDeadLetterAndTerminalWriteIsSweptAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, store, dest, clock, id := crashedEngine(t)

	store.crash.Store(true)
	_, err := e.Sweep(ctx)
	require.ErrorContains(t, err, "crashed")
	require.Len(t, dest.dead(t), 1, "the dead letter went first")
	exec, err := store.Get(ctx, id)
	require.NoError(t, err)
	require.Equal(t, workflow.StatusRunning, exec.Status)

	n, err := e.Sweep(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "taken over: not swept again within SweepGrace")
	clock.Advance(workflow.SweepGraceDefault + time.Second)
	n, err = e.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	exec, err = store.Get(ctx, id)
	require.NoError(t, err)
	require.Equal(t, workflow.StatusFailed, exec.Status)
	require.Len(t, dest.dead(t), 1, "sent again, keyed by the execution ID")
	n, err = e.Sweep(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestATimedOutExecutionWhoseDeadLetterFailsIsSweptLater(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	wf := slowWorkflow(t)
	clock := sftest.NewFakeClock(time.Now())
	store := workflow.NewMemoryStore()
	dest := &flakyDest{q: sftest.NewMemoryQueue(nil)}
	dest.down.Store(true)
	e, err := workflow.NewEngine(workflow.EngineConfig{Store: store, DeadLetters: dest, Clock: clock,
		DeadLetterRetry: storagefirst.RetryPolicy{NoRetries: true}}, wf)
	require.NoError(t, err)

	var res workflow.Result
	err = advanceWhile(t, clock, 0, time.Second, func() (err error) { res, err = e.StartSync(ctx, wf, nil); return err })
	require.ErrorIs(t, err, workflow.ErrTimedOut, "the caller learns the truth")
	exec, err := store.Get(ctx, res.ExecutionID)
	require.NoError(t, err)
	require.Equal(t, workflow.StatusRunning, exec.Status, "not terminal without its dead letter")
	require.Equal(t, workflow.StatusTimedOut, exec.Pending)
	require.Empty(t, dest.dead(t))

	dest.down.Store(false)
	clock.Advance(workflow.SweepGraceDefault + time.Second)
	n, err := e.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	exec, err = store.Get(ctx, res.ExecutionID)
	require.NoError(t, err)
	require.Equal(t, workflow.StatusTimedOut, exec.Status, "ends as it was to end")
	require.Empty(t, exec.Pending)
	dls := dest.dead(t)
	require.Len(t, dls, 1)
	require.Equal(t, workflow.ErrorTimeout, dls[0].LastFailure().Code)
}

func TestDeadLetterTaskUsesTheEnginesClock(t *testing.T) {
	t.Parallel()
	start := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := sftest.NewFakeClock(start)
	dest := sftest.NewMemoryQueue(nil)
	run := task(func(context.Context, json.RawMessage) (json.RawMessage, error) {
		return nil, workflow.Errorf("Boom", "x")
	})
	wf, err := workflow.New("cancel", cancelOrderTimeout(run, dest, 0))
	require.NoError(t, err)
	e, _, _ := newEngine(t, clock, wf)
	_, err = e.StartSync(context.Background(), wf, json.RawMessage(`{}`))
	require.ErrorIs(t, err, workflow.ErrFailed)
	dls, err := dest.ListDead(context.Background(), storagefirst.DeadLetterFilter{})
	require.NoError(t, err)
	require.Len(t, dls, 1)
	require.True(t, dls[0].DeadAt.Equal(start), "dead at %v, the engine's clock says %v", dls[0].DeadAt, start)
}
