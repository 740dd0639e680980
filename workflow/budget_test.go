package workflow_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/workflow"
)

func TestTheRetryBudgetNeverOverflows(t *testing.T) {
	t.Parallel()
	run := task(func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, nil })
	one := func(timeout, taskTimeout time.Duration, r workflow.Retrier) (workflow.Task, error) {
		tk := workflow.Task{Run: run, Timeout: taskTimeout, End: true, Retry: []workflow.Retrier{r}}
		_, err := workflow.New("w", workflow.Definition{StartAt: "T", Timeout: timeout, States: map[string]workflow.State{"T": tk}})
		return tk, err
	}
	// Without MaxDelaySeconds the waits double past any duration: a sum that
	// wrapped around once let 40 and more attempts through.
	for _, ma := range []int{10, 30, 40, 63, 64, 70, 100, 1000, workflow.MaxAttemptsLimit} {
		tk, err := one(25*time.Second, 3*time.Second, workflow.Retrier{ErrorEquals: []string{"X"}, IntervalSeconds: 1, MaxRetries: ma, BackoffRate: 2})
		require.ErrorIs(t, err, workflow.ErrInvalidDefinition, "MaxAttempts %d", ma)
		require.Greater(t, tk.RetryBudget(), workflow.TimeoutLimit, "MaxAttempts %d", ma)
	}
	// The States Language's limit.
	_, err := one(25*time.Second, 0, workflow.Retrier{ErrorEquals: []string{"X"}, MaxRetries: workflow.MaxAttemptsLimit + 1})
	require.ErrorContains(t, err, "MaxRetries 100000000 is more than 99999999")

	// The largest schedules cost no time to check (once 4.5 s of CPU per New).
	start := time.Now()
	for _, r := range []workflow.Retrier{
		{ErrorEquals: []string{"X"}, IntervalSeconds: 1, MaxRetries: workflow.MaxAttemptsLimit, BackoffRate: 1, MaxDelaySeconds: 1},
		{ErrorEquals: []string{"X"}, IntervalSeconds: 1, MaxRetries: workflow.MaxAttemptsLimit, BackoffRate: 1.0000001},
		{ErrorEquals: []string{"X"}, IntervalSeconds: 1, MaxRetries: workflow.MaxAttemptsLimit, BackoffRate: 2, MaxDelaySeconds: 1},
	} {
		_, err := one(workflow.TimeoutLimit, 300*time.Second, r)
		require.ErrorIs(t, err, workflow.ErrInvalidDefinition)
		doc, err := workflow.ParseASL([]byte(`{"StartAt":"T","TimeoutSeconds":300,"States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:eu-west-1:1:function:f",
			"End":true,"TimeoutSeconds":300,"Retry":[{"ErrorEquals":["X"],"MaxAttempts":99999999,"BackoffRate":1.0000001}]}}}`))
		require.NoError(t, err)
		def, err := doc.Definition(map[string]workflow.TaskFunc{"T": run}, nil)
		require.NoError(t, err)
		_, err = workflow.New("w", def)
		require.ErrorIs(t, err, workflow.ErrInvalidDefinition)
	}
	require.Less(t, time.Since(start), time.Second, "checking a schedule is bounded work")
}

func TestTheRetryBudgetCountsTheLongestPath(t *testing.T) {
	t.Parallel()
	run := task(func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, nil })
	retry := []workflow.Retrier{{ErrorEquals: []string{"X"}, IntervalSeconds: 1, MaxRetries: 2}} // 3 x 3 s + 1 + 2 s = 12 s
	def := func(timeout time.Duration) workflow.Definition {
		return workflow.Definition{StartAt: "A", Timeout: timeout, States: map[string]workflow.State{
			"A": workflow.Task{Run: run, Timeout: 3 * time.Second, Retry: retry, Next: "Done",
				Catch: []workflow.Catcher{{ErrorEquals: []string{workflow.ErrorAll}, Next: "B"}}},
			"B":    workflow.Task{Run: run, Timeout: 3 * time.Second, Retry: retry, Next: "Fail"},
			"Fail": workflow.Fail{Error: "E"},
			"Done": workflow.Succeed{},
		}}
	}
	_, err := workflow.New("w", def(20*time.Second))
	require.ErrorIs(t, err, workflow.ErrInvalidDefinition, "each task fits alone (12 s), the Catch path does not")
	require.ErrorContains(t, err, "the path A -> B -> Fail needs up to 24s")
	_, err = workflow.New("w", def(24*time.Second))
	require.NoError(t, err)

	// A loop (through a Choice) has no longest path: each task is checked alone.
	loop := workflow.Definition{StartAt: "A", Timeout: 12 * time.Second, States: map[string]workflow.State{
		"A": workflow.Task{Run: run, Timeout: 3 * time.Second, Retry: retry, Next: "Again?"},
		"Again?": workflow.Choice{Choices: []workflow.ChoiceRule{{Variable: "$.again", BooleanEquals: ptr(true), Next: "A"}},
			Default: "Done"},
		"Done": workflow.Succeed{},
	}}
	_, err = workflow.New("w", loop)
	require.NoError(t, err)
	loop.Timeout = 11 * time.Second
	_, err = workflow.New("w", loop)
	require.ErrorContains(t, err, `task "A": its retry schedule needs up to 12s`)
}
