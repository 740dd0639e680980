package workflow_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/workflow"
)

// randomDefinition draws a valid definition: a chain of states S0..Sn-1 (so each
// is reachable), with every feature the export knows drawn at random.
func randomDefinition(r *rand.Rand) workflow.Definition {
	noop := task(func(_ context.Context, in json.RawMessage) (json.RawMessage, error) { return in, nil })
	n := 2 + r.IntN(7)
	name := func(i int) string { return fmt.Sprintf("S%d", i) }
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	def := workflow.Definition{Comment: pick("", "random"), StartAt: name(0), States: map[string]workflow.State{},
		Timeout: time.Duration(1+r.IntN(300)) * time.Second}
	def.Timeout = max(def.Timeout, 70*time.Second) // room for the worst retry schedule below
	resultPath := func() (string, bool) {
		switch r.IntN(4) {
		case 0:
			return "", true
		default:
			return pick("", "$.r", "$.a.b"), false
		}
	}
	for i := range n {
		last := i == n-1
		next, end := "", last
		if !last {
			next = name(i + 1)
		}
		kind := r.IntN(4)
		if last {
			kind = r.IntN(5)
		}
		switch kind {
		case 0, 1:
			t := workflow.Task{Run: noop, Resource: name(i), Timeout: time.Duration(r.IntN(4)) * time.Second, Next: next, End: end}
			t.ResultPath, t.DiscardResult = resultPath()
			for k := range r.IntN(3) {
				rt := workflow.Retrier{ErrorEquals: []string{pick("Lambda.ServiceException", "Database.Unavailable", workflow.ErrorTimeout)},
					IntervalSeconds: 1 + r.IntN(3), BackoffRate: []float64{1, 1.5, 2}[r.IntN(3)], MaxDelaySeconds: []int{0, 5}[r.IntN(2)]}
				if pick2(r, 0, 1) == 0 {
					rt.NoRetries = true
				} else {
					rt.MaxRetries = 1 + r.IntN(3)
				}
				if r.IntN(2) == 0 {
					rt.JitterStrategy = storagefirst.JitterFull
				}
				if k == 1 && r.IntN(2) == 0 {
					rt.ErrorEquals = []string{workflow.ErrorAll}
				}
				t.Retry = append(t.Retry, rt)
			}
			if !last {
				for range r.IntN(3) {
					t.Catch = append(t.Catch, workflow.Catcher{ErrorEquals: []string{pick("OrderNotFound", workflow.ErrorTaskFailed)},
						Next: name(i + 1 + r.IntN(n-i-1)), ResultPath: pick("", "$.error")})
				}
			}
			def.States[name(i)] = t
		case 2:
			p := workflow.Pass{Next: next, End: end}
			p.ResultPath, p.DiscardResult = resultPath()
			if r.IntN(2) == 0 {
				p.Result = json.RawMessage(`{"k":[1,"two",{"three":3}]}`)
			}
			def.States[name(i)] = p
		case 3:
			if last {
				def.States[name(i)] = workflow.Succeed{}
				continue
			}
			c := workflow.Choice{}
			for range 1 + r.IntN(3) {
				rule := workflow.ChoiceRule{Variable: pick("$.a", "$.a.b"), Next: name(i + 1 + r.IntN(n-i-1))}
				switch r.IntN(6) {
				case 0:
					rule.StringEquals = ptr("x")
				case 1:
					rule.NumericEquals = ptr(1.5)
				case 2:
					rule.NumericGreaterThan = ptr(2.0)
				case 3:
					rule.NumericLessThan = ptr(-3.0)
				case 4:
					rule.BooleanEquals = ptr(true)
				default:
					rule.IsPresent = ptr(false)
				}
				c.Choices = append(c.Choices, rule)
			}
			c.Choices[0].Next = name(i + 1) // the next state stays reachable
			if r.IntN(2) == 0 {
				c.Default = name(i + 1)
			}
			def.States[name(i)] = c
		case 4:
			def.States[name(i)] = workflow.Fail{Error: "Oops", Cause: pick("", "a cause")}
		}
	}
	return def
}

func pick2(r *rand.Rand, a, b int) int {
	if r.IntN(2) == 0 {
		return a
	}
	return b
}

// withoutFuncs drops what the ASL does not carry (the Go functions) so that
// definitions compare.
func withoutFuncs(def workflow.Definition) workflow.Definition {
	out := def
	out.ValidateInput = nil
	out.States = map[string]workflow.State{}
	for n, s := range def.States {
		if t, ok := s.(workflow.Task); ok {
			t.Run = nil
			s = t
		}
		out.States[n] = s
	}
	return out
}

func TestASLRoundTripsRandomDefinitions(t *testing.T) {
	t.Parallel()
	noop := task(func(_ context.Context, in json.RawMessage) (json.RawMessage, error) { return in, nil })
	for seed := range uint64(500) {
		r := rand.New(rand.NewPCG(seed, 13))
		def := randomDefinition(r)
		wf, err := workflow.New("random", def)
		require.NoError(t, err, "seed %d", seed)
		resources, tasks, keys := map[string]workflow.Resource{}, map[string]workflow.TaskFunc{}, map[string]string{}
		for n, s := range def.States {
			if _, ok := s.(workflow.Task); ok {
				resources[n] = workflow.LambdaInvoke("arn:aws:lambda:us-east-1:111122223333:function:" + n)
				tasks[n], keys[n] = noop, n
			}
		}
		asl, err := wf.ASL(resources)
		require.NoError(t, err, "seed %d", seed)
		doc, err := workflow.ParseASL(asl)
		require.NoError(t, err, "seed %d:\n%s", seed, asl)
		back, err := doc.Definition(tasks, keys)
		require.NoError(t, err, "seed %d", seed)
		wf2, err := workflow.New("random", back)
		require.NoError(t, err, "seed %d", seed)
		require.Equal(t, withoutFuncs(wf.Def), withoutFuncs(wf2.Def), "seed %d:\n%s", seed, asl)
		again, err := wf2.ASL(resources)
		require.NoError(t, err)
		require.Equal(t, string(asl), string(again), "seed %d", seed)
	}
}

func TestParseASLAppliesTheLanguageDefaults(t *testing.T) {
	t.Parallel()
	doc, err := workflow.ParseASL([]byte(`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:f",
		"Retry":[{"ErrorEquals":["A"]},{"ErrorEquals":["B"],"MaxAttempts":0},{"ErrorEquals":["C"],"IntervalSeconds":3,"MaxAttempts":5,"BackoffRate":1.5}],
		"End":true}}}`))
	require.NoError(t, err)
	require.Equal(t, []workflow.ASLRetrier{
		{ErrorEquals: []string{"A"}, IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2},
		{ErrorEquals: []string{"B"}, IntervalSeconds: 1, MaxAttempts: 0, BackoffRate: 2},
		{ErrorEquals: []string{"C"}, IntervalSeconds: 3, MaxAttempts: 5, BackoffRate: 1.5},
	}, doc.States["T"].Retry)
	def, err := doc.Definition(map[string]workflow.TaskFunc{"T": task(nil)}, nil)
	require.NoError(t, err)
	retry := def.States["T"].(workflow.Task).Retry
	require.Equal(t, 3, retry[0].MaxRetries, "absent: 3 retries")
	require.False(t, retry[0].NoRetries)
	require.True(t, retry[1].NoRetries, "0: never retried")
	require.Equal(t, 5, retry[2].MaxRetries)
}

func TestParseASLRefusesWhatTheEngineDoesNotRun(t *testing.T) {
	t.Parallel()
	for _, field := range []string{`"OutputPath":"$.Payload"`, `"InputPath":"$.a"`, `"ResultSelector":{"a.$":"$.b"}`, `"HeartbeatSeconds":5`} {
		_, err := workflow.ParseASL([]byte(`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r",` + field + `,"End":true}}}`))
		require.ErrorIs(t, err, workflow.ErrInvalidDefinition, field)
	}
	_, err := workflow.ParseASL([]byte(`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","End":true,"Retry":[{"ErrorEquals":["A"],"Jitter":"FULL"}]}}}`))
	require.ErrorIs(t, err, workflow.ErrInvalidDefinition, "an unknown Retry field")
	_, err = workflow.ParseASL([]byte(`{"StartAt":"P","States":{"P":{"Type":"Pass","Resource":"r","End":true}}}`))
	require.ErrorContains(t, err, "belong to a Task")
}

func TestDefinitionsASLCannotExpressAreRefused(t *testing.T) {
	t.Parallel()
	run := task(func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, nil })
	_, err := workflow.New("w", workflow.Definition{StartAt: "T", States: map[string]workflow.State{
		"T": workflow.Task{Run: run, Timeout: 1500 * time.Millisecond, End: true}}})
	require.ErrorContains(t, err, "not whole seconds")
	_, err = workflow.New("w", workflow.Definition{StartAt: "T", Timeout: 2500 * time.Millisecond, States: map[string]workflow.State{
		"T": workflow.Task{Run: run, End: true}}})
	require.ErrorContains(t, err, "not whole seconds")
	_, err = workflow.New("w", workflow.Definition{StartAt: "T", States: map[string]workflow.State{
		"T": workflow.Task{Run: run, Timeout: 500 * time.Millisecond, End: true}}})
	require.ErrorIs(t, err, workflow.ErrInvalidDefinition, "not rounded up silently")
}

func TestARetryScheduleMustFitTheDeadline(t *testing.T) {
	t.Parallel()
	run := task(func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, nil })
	def := func(timeout time.Duration, taskTimeout time.Duration, retry ...workflow.Retrier) workflow.Definition {
		return workflow.Definition{StartAt: "T", Timeout: timeout, States: map[string]workflow.State{
			"T": workflow.Task{Run: run, Timeout: taskTimeout, Retry: retry, End: true}}}
	}
	// The old pizza cancel schedule: 2+4+...+64 s of waits alone, inside 25 s.
	lambda := workflow.Retrier{ErrorEquals: []string{"Lambda.ServiceException"}, IntervalSeconds: 2, MaxRetries: 6, BackoffRate: 2}
	_, err := workflow.New("w", def(25*time.Second, 10*time.Second, lambda))
	require.ErrorIs(t, err, workflow.ErrInvalidDefinition)
	require.ErrorContains(t, err, `task "T": its retry schedule needs up to 3m16s`) // 7 x 10 s + 126 s
	// Attempts count too: 3 attempts of 10 s do not fit 25 s.
	_, err = workflow.New("w", def(25*time.Second, 10*time.Second, workflow.Retrier{ErrorEquals: []string{"X"}, MaxRetries: 2}))
	require.ErrorContains(t, err, "its retry schedule needs up to 33s")
	// Every retrier counts, as different errors may follow each other.
	a := workflow.Retrier{ErrorEquals: []string{"A"}, IntervalSeconds: 1, MaxRetries: 2}
	b := workflow.Retrier{ErrorEquals: []string{"B"}, IntervalSeconds: 1, MaxRetries: 2}
	require.Equal(t, 5*3*time.Second+6*time.Second, workflow.Task{Timeout: 3 * time.Second, Retry: []workflow.Retrier{a, b}}.RetryBudget())
	_, err = workflow.New("w", def(21*time.Second, 3*time.Second, a, b))
	require.NoError(t, err, "exactly fits")
	_, err = workflow.New("w", def(20*time.Second, 3*time.Second, a, b))
	require.ErrorContains(t, err, "needs up to 21s")
	// MaxDelaySeconds caps the waits.
	capped := workflow.Retrier{ErrorEquals: []string{"A"}, IntervalSeconds: 2, MaxRetries: 6, BackoffRate: 2, MaxDelaySeconds: 3}
	require.Equal(t, (2+3+3+3+3+3)*time.Second, workflow.Task{Retry: []workflow.Retrier{capped}}.RetryBudget())
}

// TestLambdaTasksExportForEveryResultPath: the exported Lambda Task's result is
// the function's response itself (no OutputPath run after ResultPath, no
// wrapping), so every ResultPath means on Step Functions what it means locally.
func TestLambdaTasksExportForEveryResultPath(t *testing.T) {
	t.Parallel()
	run := task(func(_ context.Context, in json.RawMessage) (json.RawMessage, error) { return in, nil })
	for _, tc := range []struct {
		resultPath string
		discard    bool
		want       string // the exported ResultPath, raw
	}{{"", false, ""}, {"$", false, ""}, {"$.x", false, `"$.x"`}, {"$.a.b", false, `"$.a.b"`}, {"", true, "null"}} {
		wf, err := workflow.New("w", workflow.Definition{StartAt: "T", States: map[string]workflow.State{
			"T": workflow.Task{Run: run, ResultPath: tc.resultPath, DiscardResult: tc.discard, End: true}}})
		require.NoError(t, err)
		asl, err := wf.ASL(map[string]workflow.Resource{"T": workflow.LambdaInvoke("arn:aws:lambda:us-east-1:1:function:f")})
		require.NoError(t, err)
		var raw struct {
			States map[string]map[string]json.RawMessage
		}
		require.NoError(t, json.Unmarshal(asl, &raw))
		st := raw.States["T"]
		require.JSONEq(t, `"arn:aws:lambda:us-east-1:1:function:f"`, string(st["Resource"]))
		for _, field := range []string{"OutputPath", "ResultSelector", "InputPath", "Parameters"} {
			require.NotContains(t, st, field, "ResultPath %q discard %v", tc.resultPath, tc.discard)
		}
		require.Equal(t, tc.want, string(st["ResultPath"]))
	}
}
