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

func ptr[T any](v T) *T { return &v }

func newEngine(t *testing.T, clock storagefirst.Clock, wfs ...*workflow.Workflow) (*workflow.Engine, *workflow.MemoryStore, *sftest.MemoryQueue) {
	t.Helper()
	store, dead := workflow.NewMemoryStore(), sftest.NewMemoryQueue(nil)
	e, err := workflow.NewEngine(workflow.EngineConfig{Store: store, DeadLetters: dead, Clock: clock}, wfs...)
	require.NoError(t, err)
	return e, store, dead
}

func task(fn func(ctx context.Context, in json.RawMessage) (json.RawMessage, error)) workflow.TaskFunc {
	return fn
}

func TestNewValidatesEveryProblem(t *testing.T) {
	t.Parallel()
	run := task(func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, nil })
	_, err := workflow.New("bad", workflow.Definition{StartAt: "Nope", Timeout: time.Hour, States: map[string]workflow.State{
		"A":      workflow.Task{Run: run, Next: "Ghost", Retry: []workflow.Retrier{{ErrorEquals: []string{workflow.ErrorAll}}, {ErrorEquals: []string{"X"}}}},
		"B":      workflow.Task{Next: "A", End: true},
		"C":      workflow.Pass{},
		"Lonely": workflow.Succeed{},
		"D":      workflow.Choice{Choices: []workflow.ChoiceRule{{Variable: "$.a[0]", Next: "A"}}},
	}})
	require.ErrorIs(t, err, workflow.ErrInvalidDefinition)
	for _, want := range []string{`StartAt "Nope"`, `Next "Ghost" is not a state`, "States.ALL must be alone and in the last entry",
		`task "B" has no Run`, `"B" has both Next and End`, `"C" has neither Next nor End`, `"Lonely" cannot be reached`,
		"timeout 1h0m0s is outside", "needs exactly one comparison", "only $ and $.field.field"} {
		require.ErrorContains(t, err, want)
	}
}

func TestEnginePassChoiceTaskAndResultPath(t *testing.T) {
	t.Parallel()
	double := workflow.Func(func(_ context.Context, in struct{ N int }) (int, error) { return in.N * 2, nil })
	wf, err := workflow.New("calc", workflow.Definition{StartAt: "Seed", States: map[string]workflow.State{
		"Seed": workflow.Pass{Result: json.RawMessage(`{"N":21}`), ResultPath: "$.seed", Next: "Double"},
		"Double": workflow.Task{Run: func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
			var v struct{ Seed json.RawMessage }
			_ = json.Unmarshal(in, &v)
			return double(ctx, v.Seed)
		}, ResultPath: "$.result", Next: "Big?"},
		"Big?": workflow.Choice{Choices: []workflow.ChoiceRule{{Variable: "$.result", NumericGreaterThan: ptr(40.0), Next: "Yes"}}, Default: "No"},
		"Yes":  workflow.Pass{Result: json.RawMessage(`"big"`), ResultPath: "$.verdict", End: true},
		"No":   workflow.Fail{Error: "Small", Cause: "too small"},
	}})
	require.NoError(t, err)
	e, store, _ := newEngine(t, nil, wf)
	res, err := e.StartSync(context.Background(), wf, json.RawMessage(`{"user":"lee"}`))
	require.NoError(t, err)
	require.Equal(t, workflow.StatusSucceeded, res.Status)
	require.JSONEq(t, `{"user":"lee","seed":{"N":21},"result":42,"verdict":"big"}`, string(res.Output))
	exec, err := store.Get(context.Background(), res.ExecutionID)
	require.NoError(t, err)
	require.Equal(t, workflow.StatusSucceeded, exec.Status)
	require.Equal(t, "ExecutionStarted", exec.History[0].Type)
	require.Equal(t, "ExecutionSucceeded", exec.History[len(exec.History)-1].Type)
}

// cancelOrder is the reference cancel workflow: a task retried on Lambda service
// errors (2 s, 3 retries, backoff 2: with a 2 s task timeout, 4 x 2 + 2 + 4 + 8 =
// 22 s fit the 25 s), everything else caught into a dead-letter state, then failed.
func cancelOrder(run workflow.TaskFunc, dest workflow.DeadLetterDestination) workflow.Definition {
	return cancelOrderTimeout(run, dest, 2*time.Second)
}

func cancelOrderTimeout(run workflow.TaskFunc, dest workflow.DeadLetterDestination, taskTimeout time.Duration) workflow.Definition {
	return workflow.Definition{
		Comment: "Cancel a pizza order",
		StartAt: "CancelOrder",
		Timeout: 25 * time.Second,
		States: map[string]workflow.State{
			"CancelOrder": workflow.Task{Run: run, Resource: "cancel-order", Timeout: taskTimeout,
				Retry: []workflow.Retrier{{ErrorEquals: []string{"Lambda.ServiceException", "Lambda.AWSLambdaException",
					"Lambda.SdkClientException", "Lambda.ClientExecutionTimeoutException"}, IntervalSeconds: 2, MaxRetries: 3, BackoffRate: 2}},
				Catch: []workflow.Catcher{{ErrorEquals: []string{workflow.ErrorAll}, Next: "SendToDLQ", ResultPath: "$.error"}},
				End:   true},
			"SendToDLQ":    workflow.Task{Run: workflow.DeadLetterTask(dest), Resource: "dlq", Next: "CancelFailed"},
			"CancelFailed": workflow.Fail{Error: "CancelFailed", Cause: "the order could not be cancelled; it is in the dead-letter queue"},
		},
	}
}

func TestRetryTimingAndCountsOnAFakeClock(t *testing.T) {
	t.Parallel()
	clock := sftest.NewFakeClock(time.Now())
	var calls atomic.Int32
	run := task(func(context.Context, json.RawMessage) (json.RawMessage, error) {
		if calls.Add(1) <= 3 {
			return nil, workflow.Errorf("Lambda.ServiceException", "Rate Exceeded.")
		}
		return json.RawMessage(`{"status":"cancelled"}`), nil
	})
	_, _, dead := newEngine(t, nil)
	// No task timeout: the only timers are the execution's deadline and the retry
	// waits.
	wf, err := workflow.New("cancel", cancelOrderTimeout(run, dead, 0))
	require.NoError(t, err)
	e, _, _ := newEngine(t, clock, wf)
	done := make(chan workflow.Result, 1)
	go func() {
		res, err := e.StartSync(context.Background(), wf, json.RawMessage(`{"username":"lee"}`))
		require.NoError(t, err)
		done <- res
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, wait := range []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second} {
		require.NoError(t, clock.WaitForWaiters(ctx, 2)) // the deadline and the retry wait
		clock.Advance(wait - time.Millisecond)
		require.Equal(t, 2, clock.Waiters(), "still waiting just before %v", wait)
		clock.Advance(time.Millisecond)
	}
	res := <-done
	require.Equal(t, int32(4), calls.Load())
	require.JSONEq(t, `{"status":"cancelled"}`, string(res.Output))
}

func TestCatchRoutesToTheDeadLetterState(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	run := task(func(context.Context, json.RawMessage) (json.RawMessage, error) {
		calls.Add(1)
		return nil, workflow.Errorf("OrderNotFound", "no order for lee")
	})
	_, _, dead := newEngine(t, nil)
	wf, err := workflow.New("cancel", cancelOrder(run, dead))
	require.NoError(t, err)
	e, store, _ := newEngine(t, nil, wf)
	res, err := e.StartSync(context.Background(), wf, json.RawMessage(`{"username":"lee"}`))
	require.ErrorIs(t, err, workflow.ErrFailed)
	var fe *workflow.FailedError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "CancelFailed", fe.Name)
	require.Equal(t, workflow.StatusFailed, res.Status)
	require.Equal(t, int32(1), calls.Load(), "not a retryable error")

	dls, err := dead.ListDead(context.Background(), storagefirst.DeadLetterFilter{})
	require.NoError(t, err)
	require.Len(t, dls, 1)
	require.Equal(t, res.ExecutionID, dls[0].Envelope.ID)
	require.Equal(t, "workflow.cancel", dls[0].Envelope.Type)
	require.JSONEq(t, `{"username":"lee"}`, string(dls[0].Envelope.Payload), "the original input, to replay")
	require.Equal(t, "OrderNotFound", dls[0].LastFailure().Code)
	require.Contains(t, dls[0].LastFailure().Error, "no order for lee")
	exec, err := store.Get(context.Background(), res.ExecutionID)
	require.NoError(t, err)
	var types []string
	for _, ev := range exec.History {
		types = append(types, ev.Type)
	}
	require.Contains(t, types, "TaskCaught")
}

func TestCatchResultPathDefaultReplacesTheInput(t *testing.T) {
	t.Parallel()
	wf, err := workflow.New("w", workflow.Definition{StartAt: "T", States: map[string]workflow.State{
		"T": workflow.Task{Run: task(func(context.Context, json.RawMessage) (json.RawMessage, error) {
			return nil, errors.New("plain error")
		}), Catch: []workflow.Catcher{{ErrorEquals: []string{workflow.ErrorTaskFailed}, Next: "Done"}}, End: true},
		"Done": workflow.Succeed{},
	}})
	require.NoError(t, err)
	e, _, _ := newEngine(t, nil, wf)
	res, err := e.StartSync(context.Background(), wf, json.RawMessage(`{"a":1}`))
	require.NoError(t, err)
	require.JSONEq(t, `{"Error":"States.TaskFailed","Cause":"plain error"}`, string(res.Output))
}

func TestTimeouts(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	blocking := task(func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	// A task timeout is States.Timeout, which Catch can route. Timed by the
	// engine's clock: no real waiting.
	clock := sftest.NewFakeClock(time.Now())
	wf, err := workflow.New("t", workflow.Definition{StartAt: "T", States: map[string]workflow.State{
		"T": workflow.Task{Run: blocking, Timeout: time.Second,
			Catch: []workflow.Catcher{{ErrorEquals: []string{workflow.ErrorTimeout}, Next: "Late"}}, End: true},
		"Late": workflow.Pass{End: true},
	}})
	require.NoError(t, err)
	e, _, _ := newEngine(t, clock, wf)
	type outcome struct {
		res workflow.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := e.StartSync(context.Background(), wf, nil)
		done <- outcome{res, err}
	}()
	require.NoError(t, clock.WaitForWaiters(ctx, 2)) // the execution's deadline and the task's
	clock.Advance(time.Second)
	o := <-done
	require.NoError(t, o.err)
	require.Contains(t, string(o.res.Output), "States.Timeout")

	// The execution's deadline reaches the task and ends the execution TIMED_OUT.
	var seen atomic.Pointer[time.Time]
	// (7 s: the retry schedule, 1 + 2 + 4 s, must fit.)
	wf2, err := workflow.New("x", workflow.Definition{StartAt: "T", Timeout: 7 * time.Second, States: map[string]workflow.State{
		"T": workflow.Task{Run: task(func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
			d, _ := ctx.Deadline()
			seen.Store(&d)
			return blocking(ctx, in)
		}), Retry: []workflow.Retrier{{ErrorEquals: []string{workflow.ErrorAll}}}, End: true},
	}})
	require.NoError(t, err)
	clock2 := sftest.NewFakeClock(time.Now())
	e2, _, dead := newEngine(t, clock2, wf2)
	start := time.Now()
	go func() {
		res, err := e2.StartSync(context.Background(), wf2, nil)
		done <- outcome{res, err}
	}()
	require.NoError(t, clock2.WaitForWaiters(ctx, 1))
	clock2.Advance(7 * time.Second)
	o = <-done
	require.ErrorIs(t, o.err, workflow.ErrTimedOut)
	require.Equal(t, workflow.StatusTimedOut, o.res.Status)
	dls, err := dead.ListDead(context.Background(), storagefirst.DeadLetterFilter{})
	require.NoError(t, err)
	require.Len(t, dls, 1, "a timed-out execution is dead-lettered")
	require.Equal(t, o.res.ExecutionID, dls[0].Envelope.ID)
	require.Equal(t, workflow.ErrorTimeout, dls[0].LastFailure().Code)
	require.WithinDuration(t, start.Add(7*time.Second), *seen.Load(), 500*time.Millisecond, "the task sees the deadline in wall time")

	// A caller's own deadline shortens the execution's.
	e3, _, _ := newEngine(t, nil, wf2)
	cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer ccancel()
	_, err = e3.StartSync(cctx, wf2, nil)
	require.ErrorIs(t, err, workflow.ErrTimedOut)
}

func TestTheExecutionIsPersistedBeforeTheFirstState(t *testing.T) {
	t.Parallel()
	var store *workflow.MemoryStore
	var seen workflow.Execution
	wf, err := workflow.New("p", workflow.Definition{StartAt: "T", States: map[string]workflow.State{
		"T": workflow.Task{Run: task(func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
			info, ok := workflow.ExecutionFromContext(ctx)
			require.True(t, ok)
			var err error
			seen, err = store.Get(ctx, info.ID)
			require.NoError(t, err)
			return in, nil
		}), End: true},
	}})
	require.NoError(t, err)
	e, s, _ := newEngine(t, nil, wf)
	store = s
	_, err = e.StartSync(context.Background(), wf, json.RawMessage(`{"username":"lee"}`))
	require.NoError(t, err)
	require.Equal(t, workflow.StatusRunning, seen.Status)
	require.Equal(t, "T", seen.State)
	require.JSONEq(t, `{"username":"lee"}`, string(seen.Input))
}

func TestPanicsAndBadResults(t *testing.T) {
	t.Parallel()
	wf, err := workflow.New("p", workflow.Definition{StartAt: "T", States: map[string]workflow.State{
		"T": workflow.Task{Run: task(func(context.Context, json.RawMessage) (json.RawMessage, error) { panic("boom") }), End: true},
	}})
	require.NoError(t, err)
	e, _, _ := newEngine(t, nil, wf)
	_, err = e.StartSync(context.Background(), wf, nil)
	var fe *workflow.FailedError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, workflow.ErrorTaskFailed, fe.Name)
	require.Contains(t, fe.Cause, "panicked: boom")
	_, err = e.StartSync(context.Background(), wf, json.RawMessage(`{bad`))
	require.ErrorContains(t, err, "not JSON")
}

func TestSweeperRecoversInterruptedExecutions(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	run := task(func(context.Context, json.RawMessage) (json.RawMessage, error) {
		calls.Add(1)
		return json.RawMessage(`{"status":"cancelled"}`), nil
	})
	wf, err := workflow.New("cancel", workflow.Definition{StartAt: "T", States: map[string]workflow.State{
		"T": workflow.Task{Run: run, End: true}}})
	require.NoError(t, err)
	crashed := func(store workflow.Store) string {
		exec := workflow.Execution{ID: storagefirst.NewID(), Workflow: "cancel", Status: workflow.StatusRunning,
			Input: json.RawMessage(`{"username":"lee"}`), State: "T", StateInput: json.RawMessage(`{"username":"lee"}`),
			StartedAt: time.Now().Add(-time.Hour), Deadline: time.Now().Add(-time.Hour), Version: 1}
		require.NoError(t, store.Create(context.Background(), exec))
		return exec.ID
	}
	ctx := context.Background()

	// Dead-lettered, by default.
	e, store, dead := newEngine(t, nil, wf)
	id := crashed(store)
	n, err := e.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	exec, err := store.Get(ctx, id)
	require.NoError(t, err)
	require.Equal(t, workflow.StatusFailed, exec.Status)
	require.Equal(t, workflow.ErrorInterrupted, exec.Error)
	dls, err := dead.ListDead(ctx, storagefirst.DeadLetterFilter{})
	require.NoError(t, err)
	require.Len(t, dls, 1)
	require.Equal(t, id, dls[0].Envelope.ID)
	require.Contains(t, dls[0].LastFailure().Error, "history")
	require.Zero(t, calls.Load(), "nothing ran again")
	n, err = e.Sweep(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "once")

	// The dead letter replays through the engine's handler.
	require.NoError(t, e.Handler(wf).Handle(ctx, dls[0].Envelope))
	require.Equal(t, int32(1), calls.Load())

	// Resumed, when configured so.
	store2 := workflow.NewMemoryStore()
	e2, err := workflow.NewEngine(workflow.EngineConfig{Store: store2, DeadLetters: sftest.NewMemoryQueue(nil),
		Recovery: workflow.RecoverResume}, wf)
	require.NoError(t, err)
	id = crashed(store2)
	n, err = e2.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	exec, err = store2.Get(ctx, id)
	require.NoError(t, err)
	require.Equal(t, workflow.StatusSucceeded, exec.Status)
	require.Equal(t, int32(2), calls.Load())
}

func TestMemoryStoreUpdateIsConditional(t *testing.T) {
	t.Parallel()
	s := workflow.NewMemoryStore()
	ctx := context.Background()
	exec := workflow.Execution{ID: "e", Status: workflow.StatusRunning, Version: 1}
	require.NoError(t, s.Create(ctx, exec))
	exec.Version = 2
	require.NoError(t, s.Update(ctx, exec))
	require.ErrorIs(t, s.Update(ctx, exec), workflow.ErrConflict, "version 2 again")
	_, err := s.Get(ctx, "nope")
	require.ErrorIs(t, err, workflow.ErrNotFound)
}

func TestATaskThatIgnoresItsContextCannotHoldTheExecution(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	block := make(chan struct{})
	defer close(block)
	wf, err := workflow.New("stuck", workflow.Definition{StartAt: "T", Timeout: time.Second, States: map[string]workflow.State{
		"T": workflow.Task{Run: task(func(context.Context, json.RawMessage) (json.RawMessage, error) {
			<-block // ignores ctx
			return nil, nil
		}), End: true},
	}})
	require.NoError(t, err)
	clock := sftest.NewFakeClock(time.Now())
	e, _, _ := newEngine(t, clock, wf)
	done := make(chan error, 1)
	go func() {
		_, err := e.StartSync(context.Background(), wf, nil)
		done <- err
	}()
	require.NoError(t, clock.WaitForWaiters(ctx, 1)) // the deadline
	clock.Advance(time.Second)
	require.NoError(t, clock.WaitForWaiters(ctx, 1)) // the grace the task gets
	clock.Advance(time.Second)
	require.ErrorIs(t, <-done, workflow.ErrTimedOut)
}
