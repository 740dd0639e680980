package workflow_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
	"github.com/storagefirst/storagefirst-go/workflow"
)

// getFailStore fails Get while told to.
type getFailStore struct {
	*workflow.MemoryStore
	failGet atomic.Bool
}

func (s *getFailStore) Get(ctx context.Context, id string) (workflow.Execution, error) {
	if s.failGet.Load() {
		return workflow.Execution{}, errors.New("store unavailable")
	}
	return s.MemoryStore.Get(ctx, id)
}

func TestASecondStartOfADecidedExecutionAnswersAtOnce(t *testing.T) {
	t.Parallel()
	boom := task(func(context.Context, json.RawMessage) (json.RawMessage, error) {
		return nil, workflow.Errorf("Boom", "x")
	})
	wf, err := workflow.New("w", workflow.Definition{StartAt: "T", States: map[string]workflow.State{"T": workflow.Task{Run: boom, End: true}}})
	require.NoError(t, err)
	clock := sftest.NewFakeClock(time.Now())
	store := workflow.NewMemoryStore()
	dest := &flakyDest{q: sftest.NewMemoryQueue(nil)}
	dest.down.Store(true)
	e, err := workflow.NewEngine(workflow.EngineConfig{Store: store, DeadLetters: dest, Clock: clock}, wf)
	require.NoError(t, err)
	ctx := workflow.WithExecutionName(context.Background(), "k1")
	var first workflow.Result
	err = advanceWhile(t, clock, 0, 100*time.Millisecond, func() (err error) { first, err = e.StartSync(ctx, wf, nil); return err })
	require.ErrorIs(t, err, workflow.ErrFailed)
	exec, err := store.Get(ctx, first.ExecutionID)
	require.NoError(t, err)
	require.Equal(t, workflow.StatusFailed, exec.Pending, "decided; its dead letter waits for a sweep")

	// The retry learns the outcome at once, not after waiting out its context,
	// even SweepGrace past the execution's deadline (its dead letter is a
	// Sweep's to send, not the retry's to wait for).
	clock.Advance(workflow.SweepGraceDefault + time.Minute)
	attempts := dest.attempt.Load()
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	again, err := e.StartSync(rctx, wf, nil)
	require.ErrorIs(t, err, workflow.ErrFailed)
	require.Equal(t, first.ExecutionID, again.ExecutionID)
	require.Equal(t, workflow.StatusFailed, again.Status)
	require.Equal(t, "Boom", again.Error)
	require.Equal(t, attempts, dest.attempt.Load(), "no dead letter sent by the retry")
}

func TestAStoreFailureWhileAttachingIsNoNotStarted(t *testing.T) {
	t.Parallel()
	ok := task(func(context.Context, json.RawMessage) (json.RawMessage, error) { return json.RawMessage(`{}`), nil })
	wf, err := workflow.New("w", workflow.Definition{StartAt: "T", States: map[string]workflow.State{"T": workflow.Task{Run: ok, End: true}}})
	require.NoError(t, err)
	store := &getFailStore{MemoryStore: workflow.NewMemoryStore()}
	e, err := workflow.NewEngine(workflow.EngineConfig{Store: store, DeadLetters: sftest.NewMemoryQueue(nil)}, wf)
	require.NoError(t, err)
	ctx := workflow.WithExecutionName(context.Background(), "k1")
	first, err := e.StartSync(ctx, wf, nil)
	require.NoError(t, err)
	store.failGet.Store(true)
	again, err := e.StartSync(ctx, wf, nil)
	require.ErrorIs(t, err, workflow.ErrOutcomeUnknown, "it exists and may have run: a 500 with its ID, not 503 \"not started; retry\"")
	require.Equal(t, first.ExecutionID, again.ExecutionID)
}

func TestASuccessWhoseTerminalWriteFailsOnceIsRecorded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var calls atomic.Int32
	ok := task(func(context.Context, json.RawMessage) (json.RawMessage, error) {
		calls.Add(1)
		return json.RawMessage(`{"status":"cancelled"}`), nil
	})
	wf, err := workflow.New("w", workflow.Definition{StartAt: "T", States: map[string]workflow.State{"T": workflow.Task{Run: ok, End: true}}})
	require.NoError(t, err)
	clock := sftest.NewFakeClock(time.Now())
	store := &crashyStore{MemoryStore: workflow.NewMemoryStore()}
	store.crash.Store(true) // the terminal write fails once
	dead := sftest.NewMemoryQueue(nil)
	e, err := workflow.NewEngine(workflow.EngineConfig{Store: store, DeadLetters: dead, Clock: clock}, wf)
	require.NoError(t, err)
	var res workflow.Result
	err = advanceWhile(t, clock, 1, 100*time.Millisecond, func() (err error) { res, err = e.StartSync(ctx, wf, nil); return err })
	require.NoError(t, err, "the write is retried: the task's success is not lost")
	exec, err := store.Get(ctx, res.ExecutionID)
	require.NoError(t, err)
	require.Equal(t, workflow.StatusSucceeded, exec.Status)
	require.JSONEq(t, `{"status":"cancelled"}`, string(exec.Output))
	clock.Advance(time.Hour)
	n, err := e.Sweep(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "nothing for the sweeper to fail as interrupted")
	require.Equal(t, int32(1), calls.Load())
}

// TestASecondStartRecoversAnExecutionItsProcessLeft: a named execution whose
// process died (RUNNING, SweepGrace past its deadline) and that no sweeper has
// recovered is recovered by a second start of the same name, as a Sweep would:
// it ends FAILED (interrupted), dead-lettered, and the start answers with that,
// instead of waiting out its context on an execution that never ends.
func TestASecondStartRecoversAnExecutionItsProcessLeft(t *testing.T) {
	t.Parallel()
	run := task(func(context.Context, json.RawMessage) (json.RawMessage, error) { return json.RawMessage(`{}`), nil })
	wf, err := workflow.New("cancel", workflow.Definition{StartAt: "T", States: map[string]workflow.State{"T": workflow.Task{Run: run, End: true}}})
	require.NoError(t, err)
	clock := sftest.NewFakeClock(time.Now())
	store := workflow.NewMemoryStore()
	dest := &flakyDest{q: sftest.NewMemoryQueue(nil)}
	e, err := workflow.NewEngine(workflow.EngineConfig{Store: store, DeadLetters: dest, Clock: clock}, wf)
	require.NoError(t, err)
	input := json.RawMessage(`{"username":"lee"}`)
	left := leftRunning(t, store, input, clock.Now().Add(-time.Second))

	// Within SweepGrace of its deadline its process may still be ending it: the
	// start waits (here, out its short context).
	ctx := workflow.WithExecutionName(context.Background(), "k1")
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	res, err := e.StartSync(short, wf, input)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Equal(t, workflow.StatusRunning, res.Status)
	require.Empty(t, dest.dead(t))

	// Past it, the start recovers it (in the background, waiting on the engine's
	// clock, moved here whenever something waits on it).
	clock.Advance(workflow.SweepGraceDefault)
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err = advanceWhile(t, clock, 0, 100*time.Millisecond, func() (err error) { res, err = e.StartSync(rctx, wf, input); return err })
	require.ErrorIs(t, err, workflow.ErrFailed)
	require.Equal(t, left.ID, res.ExecutionID)
	require.Equal(t, workflow.StatusFailed, res.Status)
	require.Equal(t, workflow.ErrorInterrupted, res.Error)
	dls := dest.dead(t)
	require.Len(t, dls, 1, "dead-lettered with its input")
	require.Equal(t, left.ID, dls[0].Envelope.ID)
	exec, err := store.Get(context.Background(), left.ID)
	require.NoError(t, err)
	require.Equal(t, workflow.StatusFailed, exec.Status)
}

// TestASecondStartWaitsOnlyWithinItsContext: recovering an execution its
// process left runs in the background: a start whose context ends first
// answers then (here the recovery resumes the workflow, whose task takes
// longer than the start may wait), and the execution still ends.
func TestASecondStartWaitsOnlyWithinItsContext(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	slow := task(func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
		select {
		case <-release:
			return json.RawMessage(`{"done":true}`), nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	wf, err := workflow.New("cancel", workflow.Definition{StartAt: "T", States: map[string]workflow.State{"T": workflow.Task{Run: slow, End: true}}})
	require.NoError(t, err)
	store := workflow.NewMemoryStore()
	e, err := workflow.NewEngine(workflow.EngineConfig{Store: store, DeadLetters: sftest.NewMemoryQueue(nil), Recovery: workflow.RecoverResume}, wf)
	require.NoError(t, err)
	input := json.RawMessage(`{"username":"lee"}`)
	leftRunning(t, store, input, time.Now().Add(-time.Hour))

	ctx := workflow.WithExecutionName(context.Background(), "k1")
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	began := time.Now()
	res, err := e.StartSync(short, wf, input)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Equal(t, workflow.StatusRunning, res.Status)
	require.Less(t, time.Since(began), 5*time.Second, "answered when its context ended")

	close(release) // the resumed execution ends; a later start gets its result
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err = e.StartSync(rctx, wf, input)
	require.NoError(t, err)
	require.Equal(t, workflow.StatusSucceeded, res.Status)
	require.JSONEq(t, `{"done":true}`, string(res.Output))
}

// leftRunning stores what a process that died leaves of the execution of
// workflow "cancel" named "k1": RUNNING in state T, with the given deadline.
func leftRunning(t *testing.T, store workflow.Store, input json.RawMessage, deadline time.Time) workflow.Execution {
	t.Helper()
	exec := workflow.Execution{ID: workflow.NamedExecutionID("cancel", "k1"), Name: "k1", Workflow: "cancel", Status: workflow.StatusRunning,
		Input: input, State: "T", StateInput: input, StartedAt: deadline.Add(-time.Minute), Deadline: deadline, Version: 1}
	require.NoError(t, store.Create(context.Background(), exec))
	return exec
}
