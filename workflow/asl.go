package workflow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// ASL is an Amazon States Language state machine, as exported and parsed here.
type ASL struct {
	Comment        string              `json:"Comment,omitempty"`
	StartAt        string              `json:"StartAt"`
	TimeoutSeconds int                 `json:"TimeoutSeconds,omitempty"`
	States         map[string]ASLState `json:"States"`
}

// ASLState is one state of an ASL document (the fields this package uses).
type ASLState struct {
	Type           string          `json:"Type"`
	Comment        string          `json:"Comment,omitempty"`
	Resource       string          `json:"Resource,omitempty"`
	Parameters     map[string]any  `json:"Parameters,omitempty"`
	ResultPath     json.RawMessage `json:"ResultPath,omitempty"`
	Result         json.RawMessage `json:"Result,omitempty"`
	TimeoutSeconds int             `json:"TimeoutSeconds,omitempty"`
	Retry          []ASLRetrier    `json:"Retry,omitempty"`
	Catch          []ASLCatcher    `json:"Catch,omitempty"`
	Choices        []ASLChoice     `json:"Choices,omitempty"`
	Default        string          `json:"Default,omitempty"`
	Error          string          `json:"Error,omitempty"`
	Cause          string          `json:"Cause,omitempty"`
	Next           string          `json:"Next,omitempty"`
	End            bool            `json:"End,omitempty"`
}

// ASLRetrier is a Retry entry; every field is written out explicitly. Reading
// one applies the States Language defaults to absent fields: IntervalSeconds 1,
// MaxAttempts 3, BackoffRate 2.0.
type ASLRetrier struct {
	ErrorEquals     []string `json:"ErrorEquals"`
	IntervalSeconds int      `json:"IntervalSeconds"`
	MaxAttempts     int      `json:"MaxAttempts"`
	BackoffRate     float64  `json:"BackoffRate"`
	MaxDelaySeconds int      `json:"MaxDelaySeconds,omitempty"`
	JitterStrategy  string   `json:"JitterStrategy,omitempty"`
}

// UnmarshalJSON reads a Retry entry with the States Language defaults for absent
// IntervalSeconds, MaxAttempts and BackoffRate (an explicit MaxAttempts 0 means
// no retry), and refuses fields this package does not support.
func (r *ASLRetrier) UnmarshalJSON(b []byte) error {
	var v struct {
		ErrorEquals     []string `json:"ErrorEquals"`
		IntervalSeconds *int     `json:"IntervalSeconds"`
		MaxAttempts     *int     `json:"MaxAttempts"`
		BackoffRate     *float64 `json:"BackoffRate"`
		MaxDelaySeconds int      `json:"MaxDelaySeconds"`
		JitterStrategy  string   `json:"JitterStrategy"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return err
	}
	// The States Language's ranges: a positive interval, 0 to 99999999 retries,
	// a backoff rate of at least 1, a positive MaxDelaySeconds.
	switch {
	case v.IntervalSeconds != nil && *v.IntervalSeconds < 1:
		return fmt.Errorf("IntervalSeconds %d is not positive", *v.IntervalSeconds)
	case v.MaxAttempts != nil && (*v.MaxAttempts < 0 || *v.MaxAttempts > MaxAttemptsLimit):
		return fmt.Errorf("MaxAttempts %d is outside 0..%d", *v.MaxAttempts, MaxAttemptsLimit)
	case v.BackoffRate != nil && !(*v.BackoffRate >= 1):
		return fmt.Errorf("BackoffRate %v is below 1", *v.BackoffRate)
	case v.MaxDelaySeconds < 0:
		return fmt.Errorf("MaxDelaySeconds %d is negative", v.MaxDelaySeconds)
	}
	*r = ASLRetrier{ErrorEquals: v.ErrorEquals, IntervalSeconds: 1, MaxAttempts: storagefirst.RetryMaxRetriesDefault,
		BackoffRate: storagefirst.RetryBackoffRateDefault, MaxDelaySeconds: v.MaxDelaySeconds, JitterStrategy: v.JitterStrategy}
	if v.IntervalSeconds != nil {
		r.IntervalSeconds = *v.IntervalSeconds
	}
	if v.MaxAttempts != nil {
		r.MaxAttempts = *v.MaxAttempts
	}
	if v.BackoffRate != nil {
		r.BackoffRate = *v.BackoffRate
	}
	return nil
}

// ASLCatcher is a Catch entry.
type ASLCatcher struct {
	ErrorEquals []string `json:"ErrorEquals"`
	Next        string   `json:"Next"`
	ResultPath  string   `json:"ResultPath,omitempty"`
}

// ASLChoice is a Choice rule.
type ASLChoice struct {
	Variable           string   `json:"Variable"`
	StringEquals       *string  `json:"StringEquals,omitempty"`
	NumericEquals      *float64 `json:"NumericEquals,omitempty"`
	NumericGreaterThan *float64 `json:"NumericGreaterThan,omitempty"`
	NumericLessThan    *float64 `json:"NumericLessThan,omitempty"`
	BooleanEquals      *bool    `json:"BooleanEquals,omitempty"`
	IsPresent          *bool    `json:"IsPresent,omitempty"`
	Next               string   `json:"Next"`
}

// Resource is what a Task becomes on Step Functions. Its result must be what the
// local engine's TaskFunc returns, as the state's ResultPath is applied to it on
// both.
type Resource struct {
	// ARN is the Resource field, e.g. a Lambda function's ARN.
	ARN        string
	Parameters map[string]any
}

// LambdaInvoke is the Task for a task run by a Lambda function (functionARN may be
// a CloudFormation substitution): the function's ARN as the Resource, the form
// whose result is the function's response itself. The state's input is the event,
// and ResultPath (any path, or DiscardResult) places the response as the local
// engine places the TaskFunc's result. (The "arn:aws:states:::lambda:invoke"
// integration would wrap the response in {"Payload", "StatusCode", ...}, and the
// OutputPath that unwraps it runs after ResultPath, so it breaks every ResultPath
// but "$".) Errors reach Retry and Catch under the function's error type, as
// awslambda.Task reports them.
func LambdaInvoke(functionARN string) Resource {
	return Resource{ARN: functionARN}
}

// SQSSendMessage is the SQS integration for a dead-letter state: the state's input
// (the caught {Error, Cause} with the execution's input, per the Catch's
// ResultPath) becomes the message body. It is DeadLetterTask's counterpart.
func SQSSendMessage(queueURL string) Resource {
	return Resource{ARN: "arn:aws:states:::sqs:sendMessage",
		Parameters: map[string]any{"QueueUrl": queueURL, "MessageBody.$": "$"}}
}

func resultPathJSON(p string, discard bool) json.RawMessage {
	if discard {
		return json.RawMessage("null")
	}
	if p == "" || p == "$" {
		return nil
	}
	b, _ := json.Marshal(p)
	return b
}

// ASL exports the workflow as Amazon States Language, given for every Task the
// Resource it becomes, keyed by the Task's Resource name (default: its state
// name). The output is indented JSON with sorted keys, stable enough for golden
// files.
func (wf *Workflow) ASL(resources map[string]Resource) ([]byte, error) {
	doc := ASL{Comment: wf.Def.Comment, StartAt: wf.Def.StartAt, States: map[string]ASLState{},
		TimeoutSeconds: int(wf.Def.Timeout / time.Second)}
	var errs []error
	for name, st := range wf.Def.States {
		switch s := st.(type) {
		case Task:
			key := s.Resource
			if key == "" {
				key = name
			}
			r, ok := resources[key]
			if !ok {
				errs = append(errs, fmt.Errorf("workflow: no resource for task %q (key %q)", name, key))
				continue
			}
			as := ASLState{Type: "Task", Resource: r.ARN, Parameters: r.Parameters,
				ResultPath: resultPathJSON(s.ResultPath, s.DiscardResult), Next: s.Next, End: s.End,
				TimeoutSeconds: int(s.Timeout / time.Second)}
			for _, rt := range s.Retry {
				ar := ASLRetrier{ErrorEquals: rt.ErrorEquals, IntervalSeconds: max(rt.IntervalSeconds, 1),
					MaxAttempts: rt.policy().Retries(), BackoffRate: orFloat(rt.BackoffRate, storagefirst.RetryBackoffRateDefault),
					MaxDelaySeconds: rt.MaxDelaySeconds}
				if rt.JitterStrategy == storagefirst.JitterFull {
					ar.JitterStrategy = string(storagefirst.JitterFull)
				}
				as.Retry = append(as.Retry, ar)
			}
			for _, c := range s.Catch {
				rp := c.ResultPath
				if rp == "$" {
					rp = ""
				}
				as.Catch = append(as.Catch, ASLCatcher{ErrorEquals: c.ErrorEquals, Next: c.Next, ResultPath: rp})
			}
			doc.States[name] = as
		case Pass:
			doc.States[name] = ASLState{Type: "Pass", Result: s.Result, ResultPath: resultPathJSON(s.ResultPath, s.DiscardResult),
				Next: s.Next, End: s.End}
		case Choice:
			as := ASLState{Type: "Choice", Default: s.Default}
			for _, c := range s.Choices {
				as.Choices = append(as.Choices, ASLChoice(c))
			}
			doc.States[name] = as
		case Succeed:
			doc.States[name] = ASLState{Type: "Succeed"}
		case Fail:
			doc.States[name] = ASLState{Type: "Fail", Error: s.Error, Cause: s.Cause}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return marshalSorted(doc)
}

func orFloat(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

// marshalSorted encodes v with map keys sorted (encoding/json sorts map keys) and
// two-space indentation.
func marshalSorted(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// ParseASL reads an ASL document and checks it: known state types (Task, Pass,
// Choice, Succeed, Fail), no field the local engine does not run (InputPath,
// OutputPath, ResultSelector, ...), StartAt and every Next, Default and Catch
// target present, Next or End on every state that needs one, and States.ALL alone
// and last; no Task Parameters but SQSSendMessage's (the engine would drop them);
// the States Language's ranges (positive TimeoutSeconds and IntervalSeconds,
// MaxAttempts 0 to 99999999, BackoffRate at least 1). Absent Retry fields take
// the States Language defaults (ASLRetrier).
func ParseASL(data []byte) (*ASL, error) {
	var doc ASL
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidDefinition, err)
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidDefinition}, args...)...))
	}
	if _, ok := doc.States[doc.StartAt]; !ok {
		bad("StartAt %q is not a state", doc.StartAt)
	}
	// A TimeoutSeconds, when present, is positive (0 would read as absent).
	var timeouts struct {
		TimeoutSeconds *int
		States         map[string]struct{ TimeoutSeconds *int }
	}
	_ = json.Unmarshal(data, &timeouts)
	if t := timeouts.TimeoutSeconds; t != nil && *t < 1 {
		bad("TimeoutSeconds %d is not positive", *t)
	}
	for n, st := range timeouts.States {
		if t := st.TimeoutSeconds; t != nil && *t < 1 {
			bad("state %q: TimeoutSeconds %d is not positive", n, *t)
		}
	}
	names := make([]string, 0, len(doc.States))
	for n := range doc.States {
		names = append(names, n)
	}
	sort.Strings(names)
	target := func(from, to string) {
		if _, ok := doc.States[to]; !ok {
			bad("state %q: %q is not a state", from, to)
		}
	}
	for _, n := range names {
		s := doc.States[n]
		switch s.Type {
		case "Task", "Pass":
			if s.Type == "Task" && s.Resource == "" {
				bad("task %q has no Resource", n)
			}
			if s.Type == "Task" && len(s.Result) > 0 {
				bad("task %q: Result belongs to a Pass state", n)
			}
			if s.Type == "Task" && len(s.Parameters) > 0 && !isDeadLetterSend(s) {
				// The local engine passes a Task its input as is: Parameters it
				// would silently drop. Only SQSSendMessage's (the input as the
				// message, DeadLetterTask's counterpart) mean what it does.
				bad("task %q: Parameters are not run by the local engine (only SQSSendMessage's)", n)
			}
			if s.Type == "Pass" && (s.Resource != "" || len(s.Parameters) > 0 || len(s.Retry) > 0 || len(s.Catch) > 0 || s.TimeoutSeconds != 0) {
				bad("pass %q: Resource, Parameters, Retry, Catch and TimeoutSeconds belong to a Task", n)
			}
			if s.End == (s.Next != "") {
				bad("state %q needs exactly one of Next and End", n)
			}
			if s.Next != "" {
				target(n, s.Next)
			}
			for i, r := range s.Retry {
				checkErrorEquals(bad, n, "Retry", i, len(s.Retry), r.ErrorEquals)
			}
			for i, c := range s.Catch {
				checkErrorEquals(bad, n, "Catch", i, len(s.Catch), c.ErrorEquals)
				target(n, c.Next)
			}
		case "Choice":
			for _, c := range s.Choices {
				target(n, c.Next)
			}
			if s.Default != "" {
				target(n, s.Default)
			}
		case "Succeed", "Fail":
		default:
			bad("state %q: type %q is not supported", n, s.Type)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &doc, nil
}

// isDeadLetterSend reports whether s is the Task SQSSendMessage makes: the
// state's whole input sent as the message body.
func isDeadLetterSend(s ASLState) bool {
	if s.Resource != "arn:aws:states:::sqs:sendMessage" || len(s.Parameters) != 2 || s.Parameters["MessageBody.$"] != "$" {
		return false
	}
	_, ok := s.Parameters["QueueUrl"].(string)
	return ok
}

// Definition turns a parsed document back into a Definition whose tasks run the
// given functions, keyed by state name. Exporting the result with the same
// resources gives the document back.
func (doc *ASL) Definition(tasks map[string]TaskFunc, resourceKeys map[string]string) (Definition, error) {
	def := Definition{Comment: doc.Comment, StartAt: doc.StartAt, States: map[string]State{},
		Timeout: time.Duration(doc.TimeoutSeconds) * time.Second}
	for name, s := range doc.States {
		rp, discard := "", false
		if len(s.ResultPath) > 0 {
			if string(s.ResultPath) == "null" {
				discard = true
			} else if err := json.Unmarshal(s.ResultPath, &rp); err != nil {
				return def, fmt.Errorf("%w: state %q ResultPath: %v", ErrInvalidDefinition, name, err)
			}
		}
		switch s.Type {
		case "Task":
			t := Task{Run: tasks[name], Resource: resourceKeys[name], Timeout: time.Duration(s.TimeoutSeconds) * time.Second,
				ResultPath: rp, DiscardResult: discard, Next: s.Next, End: s.End}
			for _, r := range s.Retry {
				// The language's MaxAttempts counts retries, 0 meaning none; Retrier's
				// MaxRetries 0 is the default, 3, so 0 becomes NoRetries.
				t.Retry = append(t.Retry, Retrier{ErrorEquals: r.ErrorEquals, IntervalSeconds: r.IntervalSeconds,
					MaxRetries: r.MaxAttempts, NoRetries: r.MaxAttempts == 0,
					BackoffRate: r.BackoffRate, MaxDelaySeconds: r.MaxDelaySeconds, JitterStrategy: storagefirst.JitterStrategy(r.JitterStrategy)})
			}
			for _, c := range s.Catch {
				t.Catch = append(t.Catch, Catcher(c))
			}
			def.States[name] = t
		case "Pass":
			var result json.RawMessage
			if len(s.Result) > 0 {
				var b bytes.Buffer
				if err := json.Compact(&b, s.Result); err != nil {
					return def, fmt.Errorf("%w: state %q Result: %v", ErrInvalidDefinition, name, err)
				}
				result = b.Bytes()
			}
			def.States[name] = Pass{Result: result, ResultPath: rp, DiscardResult: discard, Next: s.Next, End: s.End}
		case "Choice":
			c := Choice{Default: s.Default}
			for _, r := range s.Choices {
				c.Choices = append(c.Choices, ChoiceRule(r))
			}
			def.States[name] = c
		case "Succeed":
			def.States[name] = Succeed{}
		case "Fail":
			def.States[name] = Fail{Error: s.Error, Cause: s.Cause}
		}
	}
	return def, nil
}
