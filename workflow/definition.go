package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// Defaults of a definition.
const (
	// TimeoutDefault bounds an execution without a Timeout: well inside API
	// Gateway's 29-second integration timeout, so a workflow behind a front door
	// answers before the gateway gives up.
	TimeoutDefault = 25 * time.Second
	// TimeoutLimit is the longest Express workflow, 5 minutes.
	TimeoutLimit = 5 * time.Minute
	// MaxInputDefault bounds an execution's input without a MaxInputBytes: 192
	// KiB, so that its dead letter (DeadLetterOverhead more) fits the default
	// MaxDeadLetterBytes (an SQS message of 256 KiB).
	MaxInputDefault = MaxDeadLetterBytesDefault - DeadLetterOverhead
	// MaxInputLimit is the largest MaxInputBytes: 256 KiB, Step Functions' limit.
	// (An engine takes such a workflow only with a MaxDeadLetterBytes of at least
	// MaxInputLimit + DeadLetterOverhead.)
	MaxInputLimit = 256 << 10
)

// TaskFunc is the Go function of a Task state: it receives the state's input and
// returns its result, both JSON. It must honour ctx (its deadline is the task's
// timeout or the execution's, whichever is earlier). Errors are matched by name
// (ErrorName) against Retry and Catch.
type TaskFunc func(ctx context.Context, input json.RawMessage) (json.RawMessage, error)

// Func adapts a typed function into a TaskFunc: the input is decoded into In (a
// decoding failure is States.Runtime, as in Step Functions) and the result encoded.
func Func[In, Out any](fn func(ctx context.Context, in In) (Out, error)) TaskFunc {
	return func(ctx context.Context, input json.RawMessage) (json.RawMessage, error) {
		var in In
		if err := json.Unmarshal(input, &in); err != nil {
			return nil, &NamedError{Name: ErrorRuntime, Cause: "task input: " + err.Error()}
		}
		out, err := fn(ctx, in)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(out)
		if err != nil {
			return nil, &NamedError{Name: ErrorRuntime, Cause: "task result: " + err.Error()}
		}
		return b, nil
	}
}

// State is one state of a definition: Task, Pass, Choice, Succeed or Fail.
type State interface {
	stateType() string
}

// Retrier is a Task's Retry entry, with the fields of the States Language's except
// that retries are counted as in storagefirst.RetryPolicy: MaxRetries is the
// language's MaxAttempts (the number of retries), and NoRetries is its MaxAttempts
// 0. Zero fields take the language's defaults: IntervalSeconds 1, MaxRetries 3,
// BackoffRate 2.0, no MaxDelaySeconds, jitter NONE. ExportASL and ParseASL
// translate MaxRetries and NoRetries to and from MaxAttempts.
type Retrier struct {
	ErrorEquals     []string
	IntervalSeconds int
	// MaxRetries is the number of retries after the first attempt; zero means 3.
	MaxRetries int
	// NoRetries disables retries (the language's MaxAttempts 0).
	NoRetries       bool
	BackoffRate     float64
	MaxDelaySeconds int
	JitterStrategy  storagefirst.JitterStrategy
}

// policy maps the retrier onto a storagefirst.RetryPolicy.
func (r Retrier) policy() storagefirst.RetryPolicy {
	return storagefirst.RetryPolicy{Interval: time.Duration(r.IntervalSeconds) * time.Second, MaxRetries: r.MaxRetries, NoRetries: r.NoRetries,
		BackoffRate: r.BackoffRate, MaxDelay: time.Duration(r.MaxDelaySeconds) * time.Second, Jitter: r.JitterStrategy}
}

// Catcher is a Task's Catch entry: on a matching error the execution goes to Next
// with the error output {"Error","Cause"} placed at ResultPath ("$", the default,
// replaces the input).
type Catcher struct {
	ErrorEquals []string
	Next        string
	ResultPath  string
}

// Task runs a Go function.
type Task struct {
	// Run is the function. Resource names it for the ASL export (the key of the
	// resources map; default: the state's name).
	Run      TaskFunc
	Resource string
	// Timeout bounds each attempt (TimeoutSeconds). Zero: the execution's.
	Timeout time.Duration
	Retry   []Retrier
	Catch   []Catcher
	// ResultPath places the result in the input: "$" (the default) replaces it,
	// "$.a.b" sets a field. DiscardResult keeps the input unchanged (ResultPath null).
	ResultPath    string
	DiscardResult bool
	Next          string
	End           bool
}

// Pass passes its input (or Result) on.
type Pass struct {
	Result        json.RawMessage
	ResultPath    string
	DiscardResult bool
	Next          string
	End           bool
}

// ChoiceRule is one rule of a Choice: the value at Variable compared with the one
// comparison that is set.
type ChoiceRule struct {
	Variable           string
	StringEquals       *string
	NumericEquals      *float64
	NumericGreaterThan *float64
	NumericLessThan    *float64
	BooleanEquals      *bool
	IsPresent          *bool
	Next               string
}

// Choice goes to the Next of the first matching rule, else to Default.
type Choice struct {
	Choices []ChoiceRule
	Default string
}

// Succeed ends the execution successfully with its input as output.
type Succeed struct{}

// Fail ends the execution as FAILED with Error and Cause.
type Fail struct {
	Error string
	Cause string
}

func (Task) stateType() string    { return "Task" }
func (Pass) stateType() string    { return "Pass" }
func (Choice) stateType() string  { return "Choice" }
func (Succeed) stateType() string { return "Succeed" }
func (Fail) stateType() string    { return "Fail" }

// Definition is a workflow.
type Definition struct {
	Comment string
	StartAt string
	States  map[string]State
	// Timeout bounds an execution (TimeoutSeconds): TimeoutDefault when zero, at
	// most TimeoutLimit, in whole seconds.
	Timeout time.Duration
	// MaxInputBytes bounds an execution's input: MaxInputDefault when zero, at most
	// MaxInputLimit. A larger input is refused with ErrInputTooLarge before anything
	// is stored. (Not part of the ASL export: Step Functions has its own limit.)
	MaxInputBytes int
	// ValidateInput, if set, checks an input before anything is stored; its error
	// refuses the execution with ErrInvalidInput. Check here what the workflow can
	// check without running (shape, sizes of fields), so bad requests cost no
	// stored execution. (Not part of the ASL export.)
	ValidateInput func(input json.RawMessage) error
}

// Workflow is a named, validated definition.
type Workflow struct {
	Name string
	Def  Definition
}

// New validates def and returns the workflow. It reports every problem: a missing
// or unknown StartAt or Next, a state that cannot be reached, a non-terminal state
// without Next, States.ALL not alone and last, a Task without Run, bad paths, a
// timeout out of range or not in whole seconds (ASL cannot express it), an input
// bound out of range, and retry schedules that cannot fit the execution's
// timeout: the longest path from StartAt (through Next, Choice and Catch), each
// Task on it counted with its RetryBudget; when the states loop, each Task
// alone.
func New(name string, def Definition) (*Workflow, error) {
	if def.Timeout == 0 {
		def.Timeout = TimeoutDefault
	}
	if def.MaxInputBytes == 0 {
		def.MaxInputBytes = MaxInputDefault
	}
	if err := validate(name, def); err != nil {
		return nil, err
	}
	return &Workflow{Name: name, Def: def}, nil
}

// CheckInput reports an input the workflow refuses before storing anything: not
// JSON, larger than MaxInputBytes (ErrInputTooLarge), or failing ValidateInput
// (ErrInvalidInput).
func (wf *Workflow) CheckInput(input json.RawMessage) error {
	if limit := wf.Def.MaxInputBytes; limit > 0 && len(input) > limit {
		return fmt.Errorf("%w: the input has %d bytes, more than %d", ErrInputTooLarge, len(input), limit)
	}
	if !json.Valid(input) {
		return fmt.Errorf("%w: the input is not JSON", ErrInvalidInput)
	}
	if wf.Def.ValidateInput != nil {
		if err := wf.Def.ValidateInput(input); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidInput, err)
		}
	}
	return nil
}

func validate(name string, def Definition) error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidDefinition}, args...)...))
	}
	if name == "" {
		bad("the workflow needs a name")
	}
	if def.Timeout < 0 || def.Timeout > TimeoutLimit {
		bad("timeout %v is outside 0..%v", def.Timeout, TimeoutLimit)
	}
	if def.Timeout%time.Second != 0 {
		bad("timeout %v is not whole seconds (TimeoutSeconds)", def.Timeout)
	}
	if def.MaxInputBytes < 0 || def.MaxInputBytes > MaxInputLimit {
		bad("MaxInputBytes %d is outside 0..%d", def.MaxInputBytes, MaxInputLimit)
	}
	if _, ok := def.States[def.StartAt]; !ok {
		bad("StartAt %q is not a state", def.StartAt)
	}
	names := make([]string, 0, len(def.States))
	for n := range def.States {
		names = append(names, n)
	}
	sort.Strings(names)
	edges := map[string][]string{}
	next := func(from, to, what string) {
		if _, ok := def.States[to]; !ok {
			bad("state %q: %s %q is not a state", from, what, to)
			return
		}
		edges[from] = append(edges[from], to)
	}
	flow := func(n, nxt string, end bool) {
		switch {
		case end && nxt != "":
			bad("state %q has both Next and End", n)
		case !end && nxt == "":
			bad("state %q has neither Next nor End", n)
		case nxt != "":
			next(n, nxt, "Next")
		}
	}
	for _, n := range names {
		switch s := def.States[n].(type) {
		case Task:
			if s.Run == nil {
				bad("task %q has no Run function", n)
			}
			if s.Timeout < 0 {
				bad("task %q has a negative timeout", n)
			}
			if s.Timeout%time.Second != 0 {
				bad("task %q: timeout %v is not whole seconds (TimeoutSeconds)", n, s.Timeout)
			}
			flow(n, s.Next, s.End)
			for i, r := range s.Retry {
				checkErrorEquals(bad, n, "Retry", i, len(s.Retry), r.ErrorEquals)
				if err := r.policy().Validate(); err != nil {
					bad("state %q Retry[%d]: %v", n, i, err)
				}
				if r.MaxRetries > MaxAttemptsLimit {
					bad("state %q Retry[%d]: MaxRetries %d is more than %d (the States Language's MaxAttempts limit)", n, i, r.MaxRetries, MaxAttemptsLimit)
				}
			}
			for i, c := range s.Catch {
				checkErrorEquals(bad, n, "Catch", i, len(s.Catch), c.ErrorEquals)
				next(n, c.Next, fmt.Sprintf("Catch[%d].Next", i))
				checkPath(bad, n, c.ResultPath)
			}
			checkPath(bad, n, s.ResultPath)
		case Pass:
			flow(n, s.Next, s.End)
			checkPath(bad, n, s.ResultPath)
			if len(s.Result) > 0 && !json.Valid(s.Result) {
				bad("pass %q: Result is not JSON", n)
			}
		case Choice:
			if len(s.Choices) == 0 {
				bad("choice %q has no rules", n)
			}
			for i, c := range s.Choices {
				next(n, c.Next, fmt.Sprintf("Choices[%d].Next", i))
				checkPath(bad, n, c.Variable)
				if c.comparisons() != 1 {
					bad("choice %q rule %d needs exactly one comparison", n, i)
				}
			}
			if s.Default != "" {
				next(n, s.Default, "Default")
			}
		case Succeed, Fail:
		case nil:
			bad("state %q is nil", n)
		default:
			bad("state %q has an unknown type %T", n, s)
		}
	}
	// Every state must be reachable from StartAt.
	seen := map[string]bool{}
	var walk func(string)
	walk = func(n string) {
		if seen[n] {
			return
		}
		seen[n] = true
		for _, m := range edges[n] {
			walk(m)
		}
	}
	if _, ok := def.States[def.StartAt]; ok {
		walk(def.StartAt)
	}
	for _, n := range names {
		if !seen[n] {
			bad("state %q cannot be reached from %q", n, def.StartAt)
		}
	}
	if len(errs) == 0 {
		checkBudget(bad, def, names, edges)
	}
	return errors.Join(errs...)
}

func checkErrorEquals(bad func(string, ...any), state, field string, i, n int, names []string) {
	if len(names) == 0 {
		bad("state %q %s[%d] has no ErrorEquals", state, field, i)
	}
	for _, e := range names {
		if e == ErrorAll && (len(names) != 1 || i != n-1) {
			bad("state %q %s[%d]: States.ALL must be alone and in the last entry", state, field, i)
		}
	}
}

func checkPath(bad func(string, ...any), state, p string) {
	if p == "" {
		return
	}
	if _, err := parsePath(p); err != nil {
		bad("state %q: %v", state, err)
	}
}

func (c ChoiceRule) comparisons() int {
	n := 0
	for _, set := range []bool{c.StringEquals != nil, c.NumericEquals != nil, c.NumericGreaterThan != nil,
		c.NumericLessThan != nil, c.BooleanEquals != nil, c.IsPresent != nil} {
		if set {
			n++
		}
	}
	return n
}
