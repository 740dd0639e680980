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

// runOnFakeClock runs wf to its end on a fake clock, advancing it a second at a
// time whenever the engine waits for more than its deadline (a retry), so retry
// schedules take no real time.
func runOnFakeClock(t *testing.T, wf *workflow.Workflow, input string) (workflow.Result, error) {
	t.Helper()
	clock := sftest.NewFakeClock(time.Now())
	e, _, _ := newEngine(t, clock, wf)
	type outcome struct {
		res workflow.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := e.StartSync(context.Background(), wf, json.RawMessage(input))
		done <- outcome{res, err}
	}()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case o := <-done:
			return o.res, o.err
		case <-deadline:
			t.Fatal("the execution did not end")
		case <-time.After(time.Millisecond): // poll
			if clock.Waiters() >= 2 {
				clock.Advance(time.Second)
			}
		}
	}
}

// TestEngineMatchesDocumentedStepFunctionsBehaviour runs one case per state
// feature; each expectation is what the Step Functions developer guide documents
// for the same state machine and input (the section is named in the case).
func TestEngineMatchesDocumentedStepFunctionsBehaviour(t *testing.T) {
	t.Parallel()
	echo := json.RawMessage(`{"done":true}`)
	ok := func(context.Context, json.RawMessage) (json.RawMessage, error) { return echo, nil }
	failing := func(name string) workflow.TaskFunc {
		return func(context.Context, json.RawMessage) (json.RawMessage, error) {
			return nil, workflow.Errorf(name, "it broke")
		}
	}
	one := func(s workflow.State) map[string]workflow.State {
		states := map[string]workflow.State{"S": s}
		if tk, ok := s.(workflow.Task); ok && len(tk.Catch) > 0 {
			states["Caught"] = workflow.Succeed{}
		}
		return states
	}
	catchAll := []workflow.Catcher{{ErrorEquals: []string{workflow.ErrorAll}, Next: "Caught"}}
	for _, tc := range []struct {
		name   string
		states map[string]workflow.State
		input  string
		// want: the output of a SUCCEEDED execution, or the Error of a FAILED one.
		output, failed string
		calls          int32 // task calls, when counted
	}{
		// "ResultPath": "$" (the default) replaces the input with the result.
		{name: "ResultPath default", states: one(workflow.Task{Run: ok, End: true}), input: `{"a":1}`, output: `{"done":true}`},
		// ResultPath "$.x" adds the result to the input.
		{name: "ResultPath field", states: one(workflow.Task{Run: ok, ResultPath: "$.x", End: true}), input: `{"a":1}`,
			output: `{"a":1,"x":{"done":true}}`},
		// ResultPath "$.x.y" creates the missing object.
		{name: "ResultPath nested", states: one(workflow.Task{Run: ok, ResultPath: "$.x.y", End: true}), input: `{"a":1}`,
			output: `{"a":1,"x":{"y":{"done":true}}}`},
		// "ResultPath": null discards the result and keeps the input.
		{name: "ResultPath null", states: one(workflow.Task{Run: ok, DiscardResult: true, End: true}), input: `{"a":1}`,
			output: `{"a":1}`},
		// A ResultPath that cannot be applied fails with States.ResultPathMatchFailure.
		{name: "ResultPath mismatch", states: one(workflow.Task{Run: ok, ResultPath: "$.a.b", End: true}), input: `{"a":1}`,
			failed: workflow.ErrorResultPathMatchFailure},
		// Pass: Result placed at ResultPath; without Result the input passes on.
		{name: "Pass Result", states: one(workflow.Pass{Result: json.RawMessage(`"r"`), ResultPath: "$.p", End: true}), input: `{"a":1}`,
			output: `{"a":1,"p":"r"}`},
		{name: "Pass no Result", states: one(workflow.Pass{End: true}), input: `{"a":1}`, output: `{"a":1}`},
		// A Catch without ResultPath makes the error output the state's output.
		{name: "Catch default ResultPath", states: one(workflow.Task{Run: failing("Boom"), Catch: catchAll, End: true}), input: `{"a":1}`,
			output: `{"Error":"Boom","Cause":"it broke"}`},
		// A Catch with ResultPath "$.error" adds the error output to the input.
		{name: "Catch ResultPath", states: one(workflow.Task{Run: failing("Boom"),
			Catch: []workflow.Catcher{{ErrorEquals: []string{"Boom"}, Next: "Caught", ResultPath: "$.error"}}, End: true}),
			input: `{"a":1}`, output: `{"a":1,"error":{"Error":"Boom","Cause":"it broke"}}`},
		// Retry without MaxRetries: 3 retries, so 4 calls, then the error.
		{name: "Retry default MaxRetries", states: one(workflow.Task{Run: failing("Boom"),
			Retry: []workflow.Retrier{{ErrorEquals: []string{"Boom"}}}, End: true}), input: `{}`, failed: "Boom", calls: 4},
		// NoRetries (ASL's MaxAttempts 0): never retried.
		{name: "Retry NoRetries", states: one(workflow.Task{Run: failing("Boom"),
			Retry: []workflow.Retrier{{ErrorEquals: []string{"Boom"}, NoRetries: true}}, End: true}),
			input: `{}`, failed: "Boom", calls: 1},
		// The first matching retrier counts its own attempts.
		{name: "Retry first match", states: one(workflow.Task{Run: failing("Boom"), Retry: []workflow.Retrier{
			{ErrorEquals: []string{"Boom"}, MaxRetries: 1}, {ErrorEquals: []string{workflow.ErrorAll}, MaxRetries: 3}}, End: true}),
			input: `{}`, failed: "Boom", calls: 2},
		// States.ALL does not catch States.Runtime (a Func's undecodable input).
		{name: "States.ALL skips States.Runtime", states: one(workflow.Task{
			Run: workflow.Func(func(context.Context, struct{ N int }) (int, error) { return 0, nil }), Catch: catchAll, End: true}),
			input: `{"N":"not a number"}`, failed: workflow.ErrorRuntime},
		// States.TaskFailed matches any error but States.Timeout.
		{name: "States.TaskFailed matches a named error", states: one(workflow.Task{Run: failing("Boom"),
			Catch: []workflow.Catcher{{ErrorEquals: []string{workflow.ErrorTaskFailed}, Next: "Caught"}}, End: true}),
			input: `{}`, output: `{"Error":"Boom","Cause":"it broke"}`},
		{name: "States.TaskFailed skips States.Timeout", states: one(workflow.Task{Run: failing(workflow.ErrorTimeout),
			Catch: []workflow.Catcher{{ErrorEquals: []string{workflow.ErrorTaskFailed}, Next: "Caught"}}, End: true}),
			input: `{}`, failed: workflow.ErrorTimeout},
		// Choice: the first matching rule wins; no match and no Default is
		// States.NoChoiceMatched.
		{name: "Choice first match", states: map[string]workflow.State{
			"S": workflow.Choice{Choices: []workflow.ChoiceRule{
				{Variable: "$.n", NumericGreaterThan: ptr(1.0), Next: "Big"}, {Variable: "$.n", NumericGreaterThan: ptr(0.0), Next: "Small"}}},
			"Big": workflow.Pass{Result: json.RawMessage(`"big"`), End: true}, "Small": workflow.Pass{Result: json.RawMessage(`"small"`), End: true}},
			input: `{"n":5}`, output: `"big"`},
		{name: "Choice no match", states: map[string]workflow.State{
			"S":   workflow.Choice{Choices: []workflow.ChoiceRule{{Variable: "$.n", StringEquals: ptr("x"), Next: "Yes"}}},
			"Yes": workflow.Succeed{}}, input: `{"n":5}`, failed: workflow.ErrorNoChoiceMatched},
		{name: "Choice IsPresent", states: map[string]workflow.State{
			"S":   workflow.Choice{Choices: []workflow.ChoiceRule{{Variable: "$.missing", IsPresent: ptr(false), Next: "Yes"}}},
			"Yes": workflow.Succeed{}}, input: `{"n":5}`, output: `{"n":5}`},
		// Fail ends FAILED with its Error; Succeed ends with its input.
		{name: "Fail", states: map[string]workflow.State{"S": workflow.Fail{Error: "Nope", Cause: "c"}}, input: `{}`, failed: "Nope"},
		{name: "Succeed", states: map[string]workflow.State{"S": workflow.Succeed{}}, input: `{"a":[1]}`, output: `{"a":[1]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			states := map[string]workflow.State{}
			for n, s := range tc.states {
				if tk, ok := s.(workflow.Task); ok {
					run := tk.Run
					tk.Run = func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
						calls.Add(1)
						return run(ctx, in)
					}
					s = tk
				}
				states[n] = s
			}
			wf, err := workflow.New("sem", workflow.Definition{StartAt: "S", States: states})
			require.NoError(t, err)
			res, err := runOnFakeClock(t, wf, tc.input)
			if tc.failed != "" {
				var fe *workflow.FailedError
				require.True(t, errors.As(err, &fe), "%v", err)
				require.Equal(t, workflow.StatusFailed, res.Status)
				require.Equal(t, tc.failed, res.Error)
			} else {
				require.NoError(t, err)
				require.JSONEq(t, tc.output, string(res.Output))
			}
			if tc.calls > 0 {
				require.Equal(t, tc.calls, calls.Load())
			}
		})
	}
}
