package workflow_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
	"github.com/storagefirst/storagefirst-go/workflow"
)

// catchAll runs T, whose failures a States.ALL Catch sends to a Pass state.
func catchAll(t *testing.T, run workflow.TaskFunc, resultPath string) *workflow.Workflow {
	t.Helper()
	wf, err := workflow.New("w", workflow.Definition{StartAt: "T", States: map[string]workflow.State{
		"T": workflow.Task{Run: run, ResultPath: resultPath, End: true,
			Catch: []workflow.Catcher{{ErrorEquals: []string{workflow.ErrorAll}, Next: "Caught", ResultPath: "$.error"}}},
		"Caught": workflow.Pass{End: true},
	}})
	require.NoError(t, err)
	return wf
}

func TestATaskResultOrStateOutputOverTheDataLimitFailsTheExecution(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	big := func(n int) json.RawMessage { return json.RawMessage(`"` + strings.Repeat("x", n) + `"`) }
	for name, tc := range map[string]struct {
		input      json.RawMessage
		result     json.RawMessage
		resultPath string
	}{
		"result":       {json.RawMessage(`{}`), big(workflow.MaxDataBytes), ""},
		"state output": {json.RawMessage(`{"a":` + string(big(150<<10)) + `}`), big(120 << 10), "$.r"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			run := task(func(context.Context, json.RawMessage) (json.RawMessage, error) { return tc.result, nil })
			wf := catchAll(t, run, tc.resultPath)
			e, store, dead := newEngine(t, sftest.NewFakeClock(time.Now()), wf)
			res, err := e.StartSync(ctx, wf, tc.input)
			require.ErrorIs(t, err, workflow.ErrFailed, "States.ALL does not catch it")
			require.Equal(t, workflow.ErrorDataLimitExceeded, res.Error)
			exec, err := store.Get(ctx, res.ExecutionID)
			require.NoError(t, err)
			require.Empty(t, exec.Output)
			b, err := json.Marshal(exec)
			require.NoError(t, err)
			require.Less(t, len(b), 2*len(tc.input)+64<<10, "nothing over the limit is stored (the input, as execution and as state input, and no more)")
			dls, err := dead.ListDead(ctx, storagefirst.DeadLetterFilter{})
			require.NoError(t, err)
			require.Len(t, dls, 1, "a failure no Catch handled")
		})
	}
}

func TestACauseIsCutToMaxCauseLengthCharacters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	long := strings.Repeat("é", 100_000) // 2 bytes each
	run := task(func(context.Context, json.RawMessage) (json.RawMessage, error) {
		return nil, workflow.Errorf(strings.Repeat("N", 1000), "%s", long)
	})
	wf, err := workflow.New("w", workflow.Definition{StartAt: "T", States: map[string]workflow.State{"T": workflow.Task{Run: run, End: true}}})
	require.NoError(t, err)
	e, store, _ := newEngine(t, sftest.NewFakeClock(time.Now()), wf)
	res, err := e.StartSync(ctx, wf, nil)
	require.ErrorIs(t, err, workflow.ErrFailed)
	exec, err := store.Get(ctx, res.ExecutionID)
	require.NoError(t, err)
	require.True(t, utf8.ValidString(exec.Cause))
	require.Equal(t, workflow.MaxCauseLength, utf8.RuneCountInString(exec.Cause))
	require.True(t, strings.HasSuffix(exec.Cause, "(truncated)"))
	require.Equal(t, workflow.MaxErrorNameLength, utf8.RuneCountInString(exec.Error))
	require.Equal(t, long[:10], workflow.ErrorCause(errors.New(long))[:10])
	require.LessOrEqual(t, utf8.RuneCountInString(workflow.ErrorCause(errors.New(long))), workflow.MaxCauseLength)
}

func TestOnlyTheTasksOwnDeadlineIsStatesTimeout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := sftest.NewFakeClock(time.Now())
	// The task's own call timed out (a database's, say): a task failure, which a
	// States.TaskFailed retrier retries.
	var calls int
	run := task(func(context.Context, json.RawMessage) (json.RawMessage, error) {
		calls++
		if calls == 1 {
			return nil, fmt.Errorf("query: %w", context.DeadlineExceeded)
		}
		return json.RawMessage(`{"ok":true}`), nil
	})
	wf, err := workflow.New("w", workflow.Definition{StartAt: "T", States: map[string]workflow.State{
		"T": workflow.Task{Run: run, Timeout: 5 * time.Second, End: true,
			Retry: []workflow.Retrier{{ErrorEquals: []string{workflow.ErrorTaskFailed}, IntervalSeconds: 1, MaxRetries: 1}}}}})
	require.NoError(t, err)
	e, _, _ := newEngine(t, clock, wf)
	var res workflow.Result
	err = advanceWhile(t, clock, 0, time.Second, func() (err error) { res, err = e.StartSync(ctx, wf, nil); return err })
	require.NoError(t, err)
	require.Equal(t, 2, calls)
	require.Equal(t, workflow.StatusSucceeded, res.Status)
	require.Equal(t, "States.TaskFailed", workflow.ErrorName(fmt.Errorf("x: %w", context.DeadlineExceeded)))

	// The task's deadline passing is States.Timeout.
	slow := task(func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
		<-ctx.Done()
		return nil, fmt.Errorf("gave up: %w", ctx.Err())
	})
	wf2, err := workflow.New("w2", workflow.Definition{StartAt: "T", States: map[string]workflow.State{
		"T": workflow.Task{Run: slow, Timeout: 2 * time.Second, End: true,
			Catch: []workflow.Catcher{{ErrorEquals: []string{workflow.ErrorTimeout}, Next: "TimedOut"}}},
		"TimedOut": workflow.Succeed{}}})
	require.NoError(t, err)
	e2, _, _ := newEngine(t, clock, wf2)
	err = advanceWhile(t, clock, 0, time.Second, func() (err error) { res, err = e2.StartSync(ctx, wf2, nil); return err })
	require.NoError(t, err, "caught as States.Timeout")
}

func TestStatesRuntimeCannotBeCaughtEvenByName(t *testing.T) {
	t.Parallel()
	run := task(func(context.Context, json.RawMessage) (json.RawMessage, error) {
		return json.RawMessage(`not json`), nil // States.Runtime
	})
	wf, err := workflow.New("w", workflow.Definition{StartAt: "T", States: map[string]workflow.State{
		"T": workflow.Task{Run: run, End: true,
			Retry: []workflow.Retrier{{ErrorEquals: []string{workflow.ErrorRuntime}, MaxRetries: 2}},
			Catch: []workflow.Catcher{{ErrorEquals: []string{workflow.ErrorRuntime}, Next: "Caught"}}},
		"Caught": workflow.Succeed{}}})
	require.NoError(t, err)
	clock := sftest.NewFakeClock(time.Now())
	e, _, _ := newEngine(t, clock, wf)
	var res workflow.Result
	err = advanceWhile(t, clock, 0, time.Second, func() (err error) { res, err = e.StartSync(context.Background(), wf, nil); return err })
	require.ErrorIs(t, err, workflow.ErrFailed)
	require.Equal(t, workflow.ErrorRuntime, res.Error)
}

// sizeDest measures the dead letters it takes.
type sizeDest struct{ largest int }

func (d *sizeDest) SendDeadLetter(_ context.Context, dl storagefirst.DeadLetter) error {
	env, _ := json.Marshal(dl.Envelope)
	fails, _ := json.Marshal(dl.Failures)
	d.largest = max(d.largest, len(env)+len(fails))
	return nil
}

func TestEveryDeadLetterFitsTheDestination(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// An input the destination could never hold with its dead letter is refused
	// up front: it would block the sweeper for ever.
	huge, err := workflow.New("huge", workflow.Definition{StartAt: "S", MaxInputBytes: workflow.MaxInputLimit,
		States: map[string]workflow.State{"S": workflow.Succeed{}}})
	require.NoError(t, err)
	_, err = workflow.NewEngine(workflow.EngineConfig{Store: workflow.NewMemoryStore(), DeadLetters: &sizeDest{}}, huge)
	require.ErrorContains(t, err, "MaxDeadLetterBytes")
	_, err = workflow.NewEngine(workflow.EngineConfig{Store: workflow.NewMemoryStore(), DeadLetters: &sizeDest{},
		MaxDeadLetterBytes: 1 << 20}, huge)
	require.NoError(t, err, "a destination that holds 1 MiB")

	// The largest default input, the longest cause and a full history: the dead
	// letter still fits 256 KiB.
	long := strings.Repeat(`"é\`, 40_000)
	calls := 0
	run := task(func(context.Context, json.RawMessage) (json.RawMessage, error) {
		calls++
		return nil, workflow.Errorf("Boom", "%s", long)
	})
	wf, err := workflow.New("w", workflow.Definition{StartAt: "T", Timeout: workflow.TimeoutLimit, States: map[string]workflow.State{
		"T": workflow.Task{Run: run, End: true,
			Retry: []workflow.Retrier{{ErrorEquals: []string{"Boom"}, IntervalSeconds: 1, MaxRetries: 250, BackoffRate: 1}}}}})
	require.NoError(t, err)
	dest := &sizeDest{}
	clock := sftest.NewFakeClock(time.Now())
	e, err := workflow.NewEngine(workflow.EngineConfig{Store: workflow.NewMemoryStore(), DeadLetters: dest, Clock: clock}, wf)
	require.NoError(t, err)
	input := json.RawMessage(`{"a":"` + strings.Repeat("x", workflow.MaxInputDefault-10) + `"}`)
	err = advanceWhile(t, clock, 1, time.Second, func() error { _, err := e.StartSync(ctx, wf, input); return err })
	require.ErrorIs(t, err, workflow.ErrFailed)
	require.Equal(t, 251, calls)
	require.Positive(t, dest.largest)
	t.Logf("dead letter: %d bytes for an input of %d", dest.largest, len(input))
	require.LessOrEqual(t, dest.largest-len(input), workflow.DeadLetterOverhead/2,
		"the failure text is bounded, with room for the destination's own encoding (attributes)")
}
