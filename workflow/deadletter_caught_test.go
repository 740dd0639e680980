package workflow_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
	"github.com/storagefirst/storagefirst-go/workflow"
)

// caughtIntoFailingDLQ is the pizza cancel shape: a failure caught into a
// DeadLetterTask state (no Retry, no Catch) whose destination is down.
func caughtIntoFailingDLQ(t *testing.T) (*workflow.Workflow, *flakyDest) {
	t.Helper()
	fail := task(func(context.Context, json.RawMessage) (json.RawMessage, error) {
		return nil, workflow.Errorf("Boom", "x")
	})
	stateDLQ := &flakyDest{q: sftest.NewMemoryQueue(nil)}
	stateDLQ.down.Store(true)
	wf, err := workflow.New("c", workflow.Definition{StartAt: "T", States: map[string]workflow.State{
		"T":   workflow.Task{Run: fail, End: true, Catch: []workflow.Catcher{{ErrorEquals: []string{workflow.ErrorAll}, Next: "DLQ", ResultPath: "$.error"}}},
		"DLQ": workflow.Task{Run: workflow.DeadLetterTask(stateDLQ), Next: "F"},
		"F":   workflow.Fail{Error: "CancelFailed", Cause: "in the dlq"},
	}})
	require.NoError(t, err)
	return wf, stateDLQ
}

func TestACaughtFailureWhoseDeadLetterStateFailsEndsInTheEnginesDeadLetters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	wf, _ := caughtIntoFailingDLQ(t)
	clock := sftest.NewFakeClock(time.Now())
	e, store, engineDLQ := newEngine(t, clock, wf)
	res, err := e.StartSync(ctx, wf, json.RawMessage(`{"id":"o1"}`))
	require.ErrorIs(t, err, workflow.ErrFailed)
	exec, err := store.Get(ctx, res.ExecutionID)
	require.NoError(t, err)
	require.Equal(t, workflow.StatusFailed, exec.Status)
	dls, err := engineDLQ.ListDead(ctx, storagefirst.DeadLetterFilter{})
	require.NoError(t, err)
	require.Len(t, dls, 1, "the failure no Catch handled (the DLQ state's) is dead-lettered by the engine")
	require.Equal(t, res.ExecutionID, dls[0].Envelope.ID)
	require.JSONEq(t, `{"id":"o1"}`, string(dls[0].Envelope.Payload), "what a replay needs")
	require.Equal(t, workflow.ErrorTaskFailed, dls[0].LastFailure().Code)
}

func TestAFailureNoDestinationTakesIsNeverPruned(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	wf, stateDLQ := caughtIntoFailingDLQ(t)
	clock := sftest.NewFakeClock(time.Now())
	store := workflow.NewMemoryStore()
	engineDLQ := &flakyDest{q: sftest.NewMemoryQueue(nil)}
	engineDLQ.down.Store(true)
	e, err := workflow.NewEngine(workflow.EngineConfig{Store: store, DeadLetters: engineDLQ, Clock: clock}, wf)
	require.NoError(t, err)
	var res workflow.Result
	err = advanceWhile(t, clock, 0, 100*time.Millisecond, func() (err error) { res, err = e.StartSync(ctx, wf, json.RawMessage(`{"id":"o1"}`)); return err })
	require.ErrorIs(t, err, workflow.ErrFailed, "the caller learns the truth")
	exec, err := store.Get(ctx, res.ExecutionID)
	require.NoError(t, err)
	require.Equal(t, workflow.StatusRunning, exec.Status, "not terminal while its dead letter is not stored")
	require.Equal(t, workflow.StatusFailed, exec.Pending)

	// A day and more on, with both destinations still down: sweeps fail to send
	// it, and the retention never deletes it.
	for range 5 {
		clock.Advance(workflow.RetentionDefault/4 + time.Second)
		err = advanceWhile(t, clock, 0, 100*time.Millisecond, func() (err error) { _, err = e.Sweep(ctx); return err })
		require.ErrorContains(t, err, "dlq unavailable")
		_, err = store.Get(ctx, res.ExecutionID)
		require.NoError(t, err, "an undelivered failure is not pruned")
	}
	stateDLQ.down.Store(false) // irrelevant now: the engine's destination takes it
	engineDLQ.down.Store(false)
	clock.Advance(2 * time.Hour) // past any backoff
	n, err := e.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	exec, err = store.Get(ctx, res.ExecutionID)
	require.NoError(t, err)
	require.Equal(t, workflow.StatusFailed, exec.Status)
	require.Len(t, engineDLQ.dead(t), 1)
}

func TestAFailStateIsNotDeadLetteredByTheEngine(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	wf, err := workflow.New("w", workflow.Definition{StartAt: "F", States: map[string]workflow.State{
		"F": workflow.Fail{Error: "OrderNotFound", Cause: "no such order"}}})
	require.NoError(t, err)
	e, _, dead := newEngine(t, sftest.NewFakeClock(time.Now()), wf)
	_, err = e.StartSync(ctx, wf, nil)
	require.ErrorIs(t, err, workflow.ErrFailed)
	dls, err := dead.ListDead(ctx, storagefirst.DeadLetterFilter{})
	require.NoError(t, err)
	require.Empty(t, dls, "a business outcome the definition chose, not a failure to replay")
}

func TestNewEngineNeedsADeadLetterDestinationAndAGraceLongerThanAnEnd(t *testing.T) {
	t.Parallel()
	store := workflow.NewMemoryStore()
	_, err := workflow.NewEngine(workflow.EngineConfig{Store: store, Recovery: workflow.RecoverResume})
	require.ErrorContains(t, err, "DeadLetters is required")
	_, err = workflow.NewEngine(workflow.EngineConfig{Store: store, DeadLetters: sftest.NewMemoryQueue(nil), SweepGrace: 5 * time.Second})
	require.ErrorContains(t, err, "SweepGrace")
}

func TestTheInlineDeadLetterKeepsTheCallerAtMostDeadLetterGrace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	wf := slowWorkflow(t)
	start := time.Now()
	clock := sftest.NewFakeClock(start)
	store := workflow.NewMemoryStore()
	dest := &flakyDest{q: sftest.NewMemoryQueue(nil)}
	dest.down.Store(true)
	e, err := workflow.NewEngine(workflow.EngineConfig{Store: store, DeadLetters: dest, Clock: clock,
		DeadLetterRetry: storagefirst.RetryPolicy{Interval: time.Second, MaxRetries: 10, BackoffRate: 1}}, wf)
	require.NoError(t, err)
	var res workflow.Result
	err = advanceWhile(t, clock, 0, 100*time.Millisecond, func() (err error) { res, err = e.StartSync(ctx, wf, nil); return err })
	require.ErrorIs(t, err, workflow.ErrTimedOut)
	deadline := start.Add(2 * time.Second)
	require.LessOrEqual(t, clock.Now().Sub(deadline), workflow.DeadLetterGrace+100*time.Millisecond,
		"the caller waited past the deadline for the dead letter")
	require.Greater(t, dest.attempt.Load(), int32(1), "retried within the grace")
	exec, err := store.Get(ctx, res.ExecutionID)
	require.NoError(t, err)
	require.Equal(t, workflow.StatusTimedOut, exec.Pending, "the rest is the sweeper's")
}
