package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// Recovery says what Sweep does with an execution a crash interrupted.
type Recovery int

const (
	// RecoverDeadLetter (the default) fails the execution with
	// Workflow.Interrupted and sends it, with its history, to the engine's dead
	// letters. Nothing runs again by itself: an interrupted task may or may not
	// have had its effect, and the caller has long had its answer (an error), so an
	// operator decides, by replaying. Each task runs at most once per execution
	// unless a Retry says otherwise: the at-most-once of a synchronous Express
	// workflow, with the difference that nothing is lost: it is in the DLQ.
	RecoverDeadLetter Recovery = iota
	// RecoverResume runs the execution again from the state that was running, with
	// that state's persisted input, under a fresh deadline. Tasks are then
	// at-least-once and must be idempotent (storagefirst.Idempotent).
	RecoverResume
)

// DeadLetterDestination receives dead letters (dlq/sqs.Destination, pgstore.Queue
// and sftest.MemoryQueue implement it).
type DeadLetterDestination interface {
	SendDeadLetter(ctx context.Context, dl storagefirst.DeadLetter) error
}

// EngineConfig configures an Engine. Store is required.
type EngineConfig struct {
	Store Store
	// DeadLetters (required) receives every execution that ends on an error no
	// Catch handled: timed out, failed in a Task, Pass or Choice state (retries
	// exhausted, a DeadLetterTask that could not send, a bad path), and
	// interrupted ones (RecoverDeadLetter). An execution that ends in a Fail state
	// ends as its definition says, and is not dead-lettered by the engine: failures
	// a Catch routes go where the definition sends them (DeadLetterTask).
	DeadLetters DeadLetterDestination
	Recovery    Recovery
	// SweepGrace is how long past its deadline a running execution counts as
	// interrupted. Default 30 s; it must exceed DeadLetterGrace plus the time of a
	// store write (10 s), the longest an execution's end may take past its
	// deadline.
	SweepGrace time.Duration
	// DeadLetterRetry retries a dead letter the destination did not take: the
	// storagefirst.RetryPolicy defaults (3 retries, backoff 2), except that a zero
	// Interval means DeadLetterRetryIntervalDefault. An execution whose dead letter
	// it cannot send stays RUNNING in the store, so a later Sweep sends it. The
	// retries are bounded in time too: at the end of an execution, by its deadline
	// plus DeadLetterGrace (a caller is waiting); in a Sweep, by SweepGrace less
	// the time of a store write (so no other sweeper takes the execution over
	// meanwhile). It also retries a store write of an execution's progress that
	// failed, within the same bound.
	DeadLetterRetry storagefirst.RetryPolicy
	// MaxDeadLetterBytes is the largest dead letter DeadLetters takes (payload,
	// failure and all). Zero: MaxDeadLetterBytesDefault (256 KiB). NewEngine
	// refuses a workflow whose MaxInputBytes plus DeadLetterOverhead exceeds it:
	// a dead letter that can never be sent would stay RUNNING for ever.
	MaxDeadLetterBytes int
	// Retention is how long a finished (SUCCEEDED, FAILED, TIMED_OUT) execution is
	// kept before Sweep (Prune) deletes it. Zero: RetentionDefault; negative: kept
	// forever.
	Retention time.Duration
	// Clock times everything: deadlines, task timeouts, retry waits. Default
	// storagefirst.SystemClock.
	Clock  storagefirst.Clock
	Logger *slog.Logger
}

// Defaults of EngineConfig.
const (
	// RetentionDefault keeps finished executions for a day.
	RetentionDefault = 24 * time.Hour
	// SweepGraceDefault is the default SweepGrace.
	SweepGraceDefault = 30 * time.Second
	// DeadLetterRetryIntervalDefault is the first wait before a failed dead-letter
	// send is retried (then 200 and 400 ms): short, as a caller may be waiting.
	DeadLetterRetryIntervalDefault = 100 * time.Millisecond
	// DeadLetterGrace is how long past an execution's deadline the engine may
	// go on trying to send its dead letter before it answers the caller; what it
	// cannot send by then, a Sweep sends.
	DeadLetterGrace = 2 * time.Second
	// writeTimeout bounds one SendDeadLetter call, and one store update made
	// after the caller may have gone.
	writeTimeout = 10 * time.Second
)

// Engine runs workflows locally. It is safe for concurrent use.
type Engine struct {
	cfg       EngineConfig
	workflows map[string]*Workflow

	mu         sync.Mutex
	recovering map[string]time.Time // execution ID -> when a second start began recovering it
}

// NewEngine returns an Engine that can run (and recover) the given workflows.
func NewEngine(cfg EngineConfig, workflows ...*Workflow) (*Engine, error) {
	if cfg.Store == nil {
		return nil, errors.New("workflow: EngineConfig.Store is required")
	}
	if cfg.DeadLetters == nil {
		// Without one, a failure could only be kept RUNNING forever, or lost.
		return nil, errors.New("workflow: EngineConfig.DeadLetters is required")
	}
	if cfg.SweepGrace == 0 {
		cfg.SweepGrace = SweepGraceDefault
	}
	if cfg.SweepGrace <= DeadLetterGrace+writeTimeout {
		return nil, fmt.Errorf("workflow: EngineConfig.SweepGrace %v must exceed %v (DeadLetterGrace and a store write): "+
			"an execution may end that long past its deadline, and a sweeper must not take it over meanwhile",
			cfg.SweepGrace, DeadLetterGrace+writeTimeout)
	}
	if cfg.DeadLetterRetry.Interval == 0 {
		cfg.DeadLetterRetry.Interval = DeadLetterRetryIntervalDefault
	}
	if err := cfg.DeadLetterRetry.Validate(); err != nil {
		return nil, fmt.Errorf("workflow: EngineConfig.DeadLetterRetry: %w", err)
	}
	if cfg.Retention == 0 {
		cfg.Retention = RetentionDefault
	}
	if cfg.Clock == nil {
		cfg.Clock = storagefirst.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxDeadLetterBytes == 0 {
		cfg.MaxDeadLetterBytes = MaxDeadLetterBytesDefault
	}
	e := &Engine{cfg: cfg, workflows: map[string]*Workflow{}}
	for _, wf := range workflows {
		if need := wf.Def.MaxInputBytes + DeadLetterOverhead; need > cfg.MaxDeadLetterBytes {
			return nil, fmt.Errorf("workflow: %q takes inputs of up to %d bytes, whose dead letters (%d bytes) the destination "+
				"cannot hold (EngineConfig.MaxDeadLetterBytes %d): lower its MaxInputBytes", wf.Name, wf.Def.MaxInputBytes, need,
				cfg.MaxDeadLetterBytes)
		}
		e.workflows[wf.Name] = wf
	}
	return e, nil
}

// Result is the outcome of a synchronous execution, locally or on Step Functions.
type Result struct {
	ExecutionID string          `json:"execution_id"`
	Status      Status          `json:"status"`
	Output      json.RawMessage `json:"output,omitempty"`
	Error       string          `json:"error,omitempty"`
	Cause       string          `json:"cause,omitempty"`
	StartDate   time.Time       `json:"start_date"`
	StopDate    time.Time       `json:"stop_date"`
}

// Err returns nil for a SUCCEEDED result and a *FailedError otherwise.
func (r Result) Err() error {
	if r.Status == StatusSucceeded {
		return nil
	}
	return &FailedError{ExecutionID: r.ExecutionID, Status: r.Status, Name: r.Error, Cause: r.Cause}
}

// Starter starts a workflow synchronously: the local engine (Engine.Starter) or
// Step Functions (workflow/sfn.Starter).
type Starter interface {
	StartSync(ctx context.Context, input json.RawMessage) (Result, error)
}

// StarterFunc lets a function be a Starter.
type StarterFunc func(ctx context.Context, input json.RawMessage) (Result, error)

// StartSync calls f.
func (f StarterFunc) StartSync(ctx context.Context, input json.RawMessage) (Result, error) {
	return f(ctx, input)
}

// Starter returns the engine's Starter for wf.
func (e *Engine) Starter(wf *Workflow) Starter {
	return StarterFunc(func(ctx context.Context, input json.RawMessage) (Result, error) {
		return e.StartSync(ctx, wf, input)
	})
}

type execKey struct{}

// ExecutionInfo tells a task which execution runs it.
type ExecutionInfo struct {
	ID       string
	Workflow string
	State    string
	Input    json.RawMessage
	clock    storagefirst.Clock // the engine's, for the times a task records
}

// ExecutionFromContext returns the execution a task runs in.
func ExecutionFromContext(ctx context.Context) (ExecutionInfo, bool) {
	i, ok := ctx.Value(execKey{}).(ExecutionInfo)
	return i, ok
}

// StartSync runs wf on input to the end and returns its Result. The input is
// checked first (Workflow.CheckInput: ErrInvalidInput, ErrInputTooLarge), and
// nothing is stored for one it refuses. The execution is stored before its first
// state runs and after every state. The result's error is nil only for
// SUCCEEDED; FAILED and TIMED_OUT come back as a *FailedError beside the Result.
// When the store fails once a state may have run, the error is ErrOutcomeUnknown
// and the Result carries the execution ID (status RUNNING); when it fails before
// (nothing ran), the Result is zero.
//
// Under an execution name (WithExecutionName) the execution is started at most
// once: a second start with the same name and input returns the first's Result,
// waiting within ctx while it runs (and recovering it in the background, as a
// Sweep would, when the process that ran it died: SweepGrace past its deadline,
// it is still RUNNING and undecided);
// with another input it is ErrNameInUse.
//
// The execution's deadline is the earlier of ctx's and the definition's Timeout,
// timed by the engine's Clock. A caller that cancels ctx does not stop the
// execution: it runs on to its end or deadline, recorded in the store.
func (e *Engine) StartSync(ctx context.Context, wf *Workflow, input json.RawMessage) (Result, error) {
	if len(input) == 0 {
		input = json.RawMessage("{}")
	}
	if err := wf.CheckInput(input); err != nil {
		return Result{}, err
	}
	name, named := ExecutionNameFromContext(ctx)
	id := storagefirst.NewID()
	if named {
		if err := checkExecutionName(name); err != nil {
			return Result{}, err
		}
		id = executionID(wf.Name, name)
	}
	now := e.cfg.Clock.Now()
	deadline := now.Add(wf.Def.Timeout)
	if dl, ok := ctx.Deadline(); ok {
		if d := now.Add(time.Until(dl)); d.Before(deadline) {
			deadline = d
		}
	}
	exec := Execution{ID: id, Name: name, Workflow: wf.Name, Status: StatusRunning, Input: input,
		State: wf.Def.StartAt, StateInput: input, StartedAt: now, Deadline: deadline, Version: 1}
	exec.record(Event{At: now, Type: "ExecutionStarted"})
	if err := e.cfg.Store.Create(ctx, exec); err != nil {
		if named && errors.Is(err, ErrExists) {
			return e.attach(ctx, wf, id, input)
		}
		return Result{}, fmt.Errorf("workflow: persist execution: %w", err)
	}
	return e.run(ctx, wf, exec)
}

// recoverInBackground recovers exec (recoverOne) in a goroutine of its own,
// unless one began recovering it less than SweepGrace ago: a failed recovery
// is tried again by a later start (or a Sweep) after that, not on every poll.
func (e *Engine) recoverInBackground(exec Execution) {
	now := e.cfg.Clock.Now()
	e.mu.Lock()
	if began, ok := e.recovering[exec.ID]; ok && now.Sub(began) < e.cfg.SweepGrace {
		e.mu.Unlock()
		return
	}
	if e.recovering == nil {
		e.recovering = map[string]time.Time{}
	}
	for id, began := range e.recovering { // the map stays as small as the recoveries under way
		if now.Sub(began) >= e.cfg.SweepGrace {
			delete(e.recovering, id)
		}
	}
	e.recovering[exec.ID] = now
	e.mu.Unlock()
	go func() {
		// Bounded as a Sweep's recovery is: the dead letter within SweepGrace,
		// a resumed execution by its deadline.
		if err := e.recoverOne(context.Background(), exec); err != nil && !errors.Is(err, ErrConflict) {
			e.cfg.Logger.Warn("workflow: recovering an interrupted execution for a second start failed; a later start or a sweep will",
				"execution_id", exec.ID, "error", err)
		}
	}()
}

// attachPoll is how often attach looks whether a running execution has ended.
const attachPoll = 100 * time.Millisecond

// attach answers a second start of a named execution with the first one: its
// result once it has ended (waiting, within ctx, while it runs; recovering it,
// as a Sweep would, once it is SweepGrace past its deadline). A start with a
// different input is ErrNameInUse.
func (e *Engine) attach(ctx context.Context, wf *Workflow, id string, input json.RawMessage) (Result, error) {
	for {
		exec, err := e.cfg.Store.Get(ctx, id)
		if err != nil {
			// It exists (Create said so) and may have run: not "not started".
			return Result{ExecutionID: id, Status: StatusRunning},
				fmt.Errorf("%w: execution %s: %w", ErrOutcomeUnknown, id, err)
		}
		if exec.Workflow != wf.Name || !sameJSON(exec.Input, input) {
			return Result{}, fmt.Errorf("%w: execution %s was started with another input", ErrNameInUse, exec.Name)
		}
		if exec.Status == StatusRunning && exec.Pending == "" && !e.cfg.Clock.Now().Before(exec.Deadline.Add(e.cfg.SweepGrace)) {
			// SweepGrace past its deadline and undecided: the process that ran
			// it died (a live one ends it by then) and nothing has swept it.
			// Recover it as a Sweep would, in the background (this start keeps
			// waiting within ctx; the take-over is conditional, so a sweeper or
			// another start that gets there first wins). Without this, with no
			// sweeper running, every later start would wait out its context on
			// an execution that never ends. (A decided one, Pending, answers
			// below; its dead letter is a Sweep's to send.)
			e.recoverInBackground(exec)
		}
		if exec.Status != StatusRunning || exec.Pending != "" {
			// Ended, or decided and only waiting for its dead letter: the outcome
			// is known.
			res := resultOf(exec)
			if exec.Pending != "" {
				res.Status = exec.Pending
			}
			return res, res.Err()
		}
		select {
		case <-ctx.Done():
			return Result{ExecutionID: id, Status: StatusRunning, StartDate: exec.StartedAt},
				fmt.Errorf("workflow: execution %s is still running: %w", id, ctx.Err())
		case <-e.cfg.Clock.After(attachPoll):
		}
	}
}

func resultOf(exec Execution) Result {
	return Result{ExecutionID: exec.ID, Status: exec.Status, Output: exec.Output, Error: exec.Error, Cause: exec.Cause,
		StartDate: exec.StartedAt, StopDate: exec.StoppedAt}
}

// sendDeadLetter sends dl, retrying under the engine's DeadLetterRetry with waits
// on its clock, until the clock reaches until (each attempt bounded by
// writeTimeout and the time left). It does not stop when ctx ends (the
// execution's deadline may be what ended it); the policy and until bound it.
func (e *Engine) sendDeadLetter(ctx context.Context, dl storagefirst.DeadLetter, until time.Time) error {
	ctx = context.WithoutCancel(ctx)
	p := e.cfg.DeadLetterRetry
	err := errors.New("no time left to send it")
	for n := 0; ; n++ {
		left := until.Sub(e.cfg.Clock.Now())
		if left <= 0 {
			return fmt.Errorf("workflow: dead letter of execution %s not stored after %d attempts: out of time: %w", dl.Envelope.ID, n, err)
		}
		sctx, cancel := context.WithTimeout(ctx, min(writeTimeout, left))
		err = e.cfg.DeadLetters.SendDeadLetter(sctx, dl)
		cancel()
		if err == nil {
			return nil
		}
		if n >= p.Retries() {
			return fmt.Errorf("workflow: dead letter of execution %s not stored after %d attempts: %w", dl.Envelope.ID, n+1, err)
		}
		wait := p.Delay(n+1, err)
		if !e.cfg.Clock.Now().Add(wait).Before(until) {
			return fmt.Errorf("workflow: dead letter of execution %s not stored after %d attempts: out of time: %w", dl.Envelope.ID, n+1, err)
		}
		<-e.cfg.Clock.After(wait)
	}
}

// needsDeadLetter reports whether exec, which has just ended, ended on an error
// no Catch handled, and so goes to the engine's dead letters: TIMED_OUT, or
// FAILED in any state but a Fail state (which ends it as the definition says).
func needsDeadLetter(wf *Workflow, exec Execution) bool {
	switch exec.Status {
	case StatusTimedOut:
		return true
	case StatusFailed:
		_, failState := wf.Def.States[exec.State].(Fail)
		return !failState
	}
	return false
}

// run drives exec from its current state to the end.
func (e *Engine) run(ctx context.Context, wf *Workflow, exec Execution) (Result, error) {
	// A caller that goes away does not stop the execution half-way: it runs on to
	// its end or its deadline, whichever comes first.
	ctx, cancel := withDeadline(context.WithoutCancel(ctx), e.cfg.Clock, exec.Deadline)
	defer cancel()
	for exec.Status == StatusRunning {
		if err := e.step(ctx, wf, &exec); err != nil {
			return Result{}, err
		}
		stored := exec
		if needsDeadLetter(wf, exec) {
			// A failure no Catch handled (a timeout included) goes to the dead
			// letters, so nothing that failed vanishes. It is terminal only once its
			// dead letter is durable; until then it is stored RUNNING with the status
			// it is to end in, and a Sweep sends it. The caller waits for the send
			// at most DeadLetterGrace past the deadline.
			until := exec.Deadline.Add(DeadLetterGrace)
			if err := e.sendDeadLetter(ctx, deadLetterOf(exec, exec.State, exec.Error, exec.Cause), until); err != nil {
				e.cfg.Logger.ErrorContext(ctx, "workflow: a failed execution is not dead-lettered yet; a sweep will",
					"execution_id", exec.ID, "status", exec.Status, "error", err)
				stored.Status, stored.Pending = StatusRunning, exec.Status
				stored.Deadline = e.cfg.Clock.Now() // a sweep takes it SweepGrace from now
			}
		}
		exec.Version++
		stored.Version = exec.Version
		// Record progress even when the caller has gone: the store must not be left
		// with a stale picture.
		if err := e.update(ctx, stored, exec.Deadline.Add(DeadLetterGrace)); err != nil {
			// A state may have run: this is not "not started". The ID finds the
			// execution; a sweep ends it.
			return Result{ExecutionID: exec.ID, Status: StatusRunning, StartDate: exec.StartedAt},
				fmt.Errorf("%w: execution %s: %w", ErrOutcomeUnknown, exec.ID, err)
		}
	}
	res := resultOf(exec)
	return res, res.Err()
}

// update stores exec, retrying a failed write under the engine's
// DeadLetterRetry while the clock is before until (the first attempt is always
// made): a store that fails for a moment must not turn a task that ran, a
// success included, into an interrupted execution. A write that reported an
// error but was stored is recognised by its version.
func (e *Engine) update(ctx context.Context, exec Execution, until time.Time) error {
	ctx = context.WithoutCancel(ctx)
	p := e.cfg.DeadLetterRetry
	for n := 0; ; n++ {
		sctx, cancel := context.WithTimeout(ctx, writeTimeout)
		err := e.cfg.Store.Update(sctx, exec)
		cancel()
		if err == nil {
			return nil
		}
		if errors.Is(err, ErrConflict) {
			if n > 0 { // perhaps our own earlier attempt, stored after all
				gctx, gcancel := context.WithTimeout(ctx, writeTimeout)
				cur, gerr := e.cfg.Store.Get(gctx, exec.ID)
				gcancel()
				if gerr == nil && cur.Version == exec.Version && cur.Status == exec.Status && cur.State == exec.State {
					return nil
				}
			}
			return err
		}
		wait := p.Delay(n+1, err)
		if n >= p.Retries() || !e.cfg.Clock.Now().Add(wait).Before(until) {
			return err
		}
		e.cfg.Logger.WarnContext(ctx, "workflow: recording an execution failed; retrying", "execution_id", exec.ID, "error", err)
		<-e.cfg.Clock.After(wait)
	}
}

func (e *Engine) finish(exec *Execution, status Status, output json.RawMessage, name, cause string) {
	now := e.cfg.Clock.Now()
	exec.Status, exec.Output, exec.Error, exec.Cause, exec.StoppedAt = status, output, name, cause, now
	typ := map[Status]string{StatusSucceeded: "ExecutionSucceeded", StatusFailed: "ExecutionFailed", StatusTimedOut: "ExecutionTimedOut"}[status]
	exec.record(Event{At: now, Type: typ, State: exec.State, Error: name, Cause: cause})
}

// goTo moves exec to the next state, or ends it.
func (e *Engine) goTo(exec *Execution, next string, end bool, output json.RawMessage) {
	exec.record(Event{At: e.cfg.Clock.Now(), Type: "StateExited", State: exec.State})
	if end {
		e.finish(exec, StatusSucceeded, output, "", "")
		return
	}
	exec.State, exec.StateInput, exec.Retries = next, output, nil
}

// step runs exec's current state once (a Task with its retries).
func (e *Engine) step(ctx context.Context, wf *Workflow, exec *Execution) error {
	if e.cfg.Clock.Now().After(exec.Deadline) {
		e.finish(exec, StatusTimedOut, nil, ErrorTimeout, "the execution ran past its deadline")
		return nil
	}
	exec.record(Event{At: e.cfg.Clock.Now(), Type: "StateEntered", State: exec.State})
	input := exec.StateInput
	switch s := wf.Def.States[exec.State].(type) {
	case Succeed:
		e.finish(exec, StatusSucceeded, input, "", "")
	case Fail:
		e.finish(exec, StatusFailed, nil, s.Error, s.Cause)
	case Pass:
		result := input
		if len(s.Result) > 0 {
			result = s.Result
		}
		out, err := applyResult(input, result, s.ResultPath, s.DiscardResult)
		if err != nil {
			e.finish(exec, StatusFailed, nil, ErrorName(err), errorCause(err))
			return nil
		}
		e.goTo(exec, s.Next, s.End, out)
	case Choice:
		for _, c := range s.Choices {
			if c.match(input) {
				e.goTo(exec, c.Next, false, input)
				return nil
			}
		}
		if s.Default == "" {
			e.finish(exec, StatusFailed, nil, ErrorNoChoiceMatched, "no choice rule matched and there is no Default")
			return nil
		}
		e.goTo(exec, s.Default, false, input)
	case Task:
		e.task(ctx, wf, exec, s)
	}
	return nil
}

// task runs a Task state with its Retry and Catch.
func (e *Engine) task(ctx context.Context, wf *Workflow, exec *Execution, s Task) {
	input := exec.StateInput
	if len(exec.Retries) != len(s.Retry) {
		exec.Retries = make([]int, len(s.Retry))
	}
	for attempt := 1 + sum(exec.Retries); ; attempt++ {
		out, err := e.attempt(ctx, wf, exec, s, input)
		if err == nil {
			exec.record(Event{At: e.cfg.Clock.Now(), Type: "TaskSucceeded", State: exec.State, Attempt: attempt})
			res, perr := applyResult(input, out, s.ResultPath, s.DiscardResult)
			if perr != nil {
				e.finish(exec, StatusFailed, nil, ErrorName(perr), errorCause(perr))
				return
			}
			e.goTo(exec, s.Next, s.End, res)
			return
		}
		if ctx.Err() != nil { // the execution's deadline, not the task's
			e.finish(exec, StatusTimedOut, nil, ErrorTimeout, "the execution timed out in state "+exec.State)
			return
		}
		name, cause := ErrorName(err), errorCause(err)
		exec.record(Event{At: e.cfg.Clock.Now(), Type: "TaskFailed", State: exec.State, Attempt: attempt, Error: name, Cause: cause})
		if i, ok := retrierFor(s.Retry, name); ok && exec.Retries[i] < s.Retry[i].policy().Retries() {
			exec.Retries[i]++
			wait := s.Retry[i].policy().Delay(exec.Retries[i], nil)
			if e.cfg.Clock.Now().Add(wait).After(exec.Deadline) {
				e.finish(exec, StatusTimedOut, nil, ErrorTimeout, fmt.Sprintf("the execution would time out waiting %v to retry %s", wait, exec.State))
				return
			}
			exec.record(Event{At: e.cfg.Clock.Now(), Type: "TaskRetryScheduled", State: exec.State, Attempt: attempt, Error: name})
			select {
			case <-ctx.Done():
				e.finish(exec, StatusTimedOut, nil, ErrorTimeout, "the execution timed out waiting to retry "+exec.State)
				return
			case <-e.cfg.Clock.After(wait):
			}
			continue
		}
		for _, c := range s.Catch {
			if !matches(c.ErrorEquals, name) {
				continue
			}
			errOut, _ := json.Marshal(map[string]string{"Error": name, "Cause": cause})
			path := c.ResultPath
			out, perr := applyResult(input, errOut, path, false)
			if perr != nil {
				e.finish(exec, StatusFailed, nil, ErrorName(perr), errorCause(perr))
				return
			}
			exec.record(Event{At: e.cfg.Clock.Now(), Type: "TaskCaught", State: exec.State, Error: name})
			e.goTo(exec, c.Next, false, out)
			return
		}
		e.finish(exec, StatusFailed, nil, name, cause)
		return
	}
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

func retrierFor(rs []Retrier, name string) (int, bool) {
	for i, r := range rs {
		if matches(r.ErrorEquals, name) {
			return i, true
		}
	}
	return 0, false
}

// taskGrace is how long a task may run on after its context ended before the
// engine stops waiting for it: a task that ignores its context cannot hold an
// execution past its deadline.
const taskGrace = time.Second

type attemptResult struct {
	out json.RawMessage
	err error
}

// attempt runs the task function once, under the task's timeout.
func (e *Engine) attempt(ctx context.Context, wf *Workflow, exec *Execution, s Task, input json.RawMessage) (json.RawMessage, error) {
	actx := context.WithValue(ctx, execKey{}, ExecutionInfo{ID: exec.ID, Workflow: wf.Name, State: exec.State, Input: exec.Input,
		clock: e.cfg.Clock})
	if s.Timeout > 0 {
		var cancel context.CancelFunc
		actx, cancel = withDeadline(actx, e.cfg.Clock, e.cfg.Clock.Now().Add(s.Timeout))
		defer cancel()
	}
	done := make(chan attemptResult, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- attemptResult{err: &NamedError{Name: ErrorTaskFailed, Cause: fmt.Sprintf("task panicked: %v", r)}}
			}
		}()
		out, err := s.Run(actx, input)
		done <- attemptResult{out, err}
	}()
	var r attemptResult
	select {
	case r = <-done:
	case <-actx.Done():
		select {
		case r = <-done:
		case <-e.cfg.Clock.After(taskGrace):
			e.cfg.Logger.WarnContext(ctx, "workflow: a task ignored its context; the execution goes on without it",
				"execution_id", exec.ID, "state", exec.State)
			if ctx.Err() == nil {
				return nil, &NamedError{Name: ErrorTimeout, Cause: fmt.Sprintf("the task ran past its timeout of %v", s.Timeout)}
			}
			return nil, actx.Err()
		}
	}
	if errors.Is(actx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
		// The task's own deadline passed (finished too late, or failed because of
		// it): States.Timeout, whatever the task returned.
		return nil, &NamedError{Name: ErrorTimeout, Cause: fmt.Sprintf("the task ran past its timeout of %v", s.Timeout)}
	}
	if r.err == nil && actx.Err() != nil {
		r.err = actx.Err() // finished, but too late
	}
	if r.err == nil {
		if err := checkData("task's result", r.out); err != nil {
			return nil, err
		}
	}
	if r.err == nil && len(r.out) > 0 && !json.Valid(r.out) {
		r.err = &NamedError{Name: ErrorRuntime, Cause: "the task's result is not JSON"}
	}
	return r.out, r.err
}

// match evaluates a choice rule against the input.
func (c ChoiceRule) match(input json.RawMessage) bool {
	v, present := getPath(input, c.Variable)
	if c.IsPresent != nil {
		return present == *c.IsPresent
	}
	if !present {
		return false
	}
	switch {
	case c.StringEquals != nil:
		var s string
		return json.Unmarshal(v, &s) == nil && s == *c.StringEquals
	case c.BooleanEquals != nil:
		var b bool
		return json.Unmarshal(v, &b) == nil && b == *c.BooleanEquals
	}
	var f float64
	if json.Unmarshal(v, &f) != nil {
		return false
	}
	switch {
	case c.NumericEquals != nil:
		return f == *c.NumericEquals
	case c.NumericGreaterThan != nil:
		return f > *c.NumericGreaterThan
	case c.NumericLessThan != nil:
		return f < *c.NumericLessThan
	}
	return false
}
