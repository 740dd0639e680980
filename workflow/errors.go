package workflow

import (
	"errors"
	"fmt"
)

// Built-in error names of the Amazon States Language.
const (
	ErrorAll               = "States.ALL"
	ErrorTimeout           = "States.Timeout"
	ErrorTaskFailed        = "States.TaskFailed"
	ErrorPermissions       = "States.Permissions"
	ErrorHeartbeatTimeout  = "States.HeartbeatTimeout"
	ErrorRuntime           = "States.Runtime"
	ErrorDataLimitExceeded = "States.DataLimitExceeded"
	ErrorNoChoiceMatched   = "States.NoChoiceMatched"
	// ErrorResultPathMatchFailure: a state's ResultPath cannot be applied to its
	// input (e.g. "$.a.b" where a is not an object).
	ErrorResultPathMatchFailure = "States.ResultPathMatchFailure"
	// ErrorInterrupted names the failure of an execution a crash interrupted
	// (not a States Language name: Step Functions has no such case).
	ErrorInterrupted = "Workflow.Interrupted"
)

// Status is an execution's status.
type Status string

// The statuses of an execution, as Step Functions names them.
const (
	StatusRunning   Status = "RUNNING"
	StatusSucceeded Status = "SUCCEEDED"
	StatusFailed    Status = "FAILED"
	StatusTimedOut  Status = "TIMED_OUT"
)

// Errors of this package.
var (
	// ErrFailed is matched by the error of a FAILED execution.
	ErrFailed = errors.New("workflow: execution failed")
	// ErrTimedOut is matched by the error of a TIMED_OUT execution.
	ErrTimedOut = errors.New("workflow: execution timed out")
	// ErrInvalidDefinition: New rejected a definition.
	ErrInvalidDefinition = errors.New("workflow: invalid definition")
	// ErrNotFound: no execution with that ID.
	ErrNotFound = errors.New("workflow: execution not found")
	// ErrConflict: the execution was changed by someone else (a sweeper took it).
	ErrConflict = errors.New("workflow: execution changed concurrently")
	// ErrExists: Store.Create was given an execution ID that is stored already.
	ErrExists = errors.New("workflow: execution exists")
	// ErrNameInUse: an execution of that name was started with another input.
	ErrNameInUse = errors.New("workflow: execution name in use")
	// ErrOutcomeUnknown: the execution started (a state may have run), but the
	// store failed to record how it went on. The Result beside it carries the
	// execution ID; a retry under the same execution name finds the execution, and
	// a Sweep ends it. It is no "not started".
	ErrOutcomeUnknown = errors.New("workflow: execution started; its outcome is not recorded")
	// ErrInvalidInput: the input is not JSON, fails the definition's ValidateInput,
	// or the execution name is not valid. Nothing was stored.
	ErrInvalidInput = errors.New("workflow: invalid input")
	// ErrInputTooLarge: the input exceeds the definition's MaxInputBytes. It also
	// matches ErrInvalidInput. Nothing was stored.
	ErrInputTooLarge = fmt.Errorf("%w: too large", ErrInvalidInput)
)

// Named is implemented by errors that carry a States Language error name, which
// Retry and Catch match with ErrorEquals. Use NamedError to make one.
type Named interface {
	error
	ErrorName() string
}

// NamedError is an error with a States Language name and a cause.
type NamedError struct {
	Name  string
	Cause string
}

// Error returns "name: cause".
func (e *NamedError) Error() string { return e.Name + ": " + e.Cause }

// ErrorName returns the States Language name.
func (e *NamedError) ErrorName() string { return e.Name }

// Errorf returns a NamedError.
func Errorf(name, format string, args ...any) error {
	return &NamedError{Name: name, Cause: fmt.Sprintf(format, args...)}
}

// ErrorName returns the States Language name of a task's error: its Named name
// (at most MaxErrorNameLength characters), or States.TaskFailed. An error that
// wraps context.DeadlineExceeded is no States.Timeout by itself (a task's own
// call may have timed out): the engine names States.Timeout when the task's
// deadline passed.
func ErrorName(err error) string {
	var n Named
	if errors.As(err, &n) && n.ErrorName() != "" {
		return capText(n.ErrorName(), MaxErrorNameLength)
	}
	return ErrorTaskFailed
}

// errorCause returns the cause of a task's error.
func errorCause(err error) string {
	var ne *NamedError
	if errors.As(err, &ne) {
		return capText(ne.Cause, MaxCauseLength)
	}
	return capText(err.Error(), MaxCauseLength)
}

// ErrorCause returns the States Language cause of a task's error: its Named
// cause, or its message, cut to MaxCauseLength characters.
func ErrorCause(err error) string { return errorCause(err) }

// matches reports whether an error named name matches ErrorEquals names, with the
// wildcards' rules: States.ALL matches every name but the terminal
// States.DataLimitExceeded and States.Runtime; States.TaskFailed matches every name
// but those and States.Timeout. States.Runtime is matched by nothing, not even
// by name: it cannot be retried or caught.
func matches(names []string, name string) bool {
	if name == ErrorRuntime {
		return false
	}
	terminal := name == ErrorDataLimitExceeded
	for _, n := range names {
		switch {
		case n == name:
			return true
		case n == ErrorAll && !terminal:
			return true
		case n == ErrorTaskFailed && !terminal && name != ErrorTimeout:
			return true
		}
	}
	return false
}

// FailedError is the error of an execution that did not succeed. errors.Is
// matches it with ErrFailed or ErrTimedOut.
type FailedError struct {
	ExecutionID string
	Status      Status
	// Name and Cause are the execution's Error and Cause.
	Name  string
	Cause string
}

// Error describes the execution and how it ended.
func (e *FailedError) Error() string {
	return fmt.Sprintf("workflow: execution %s %s: %s: %s", e.ExecutionID, e.Status, e.Name, e.Cause)
}

// ErrorName returns the execution's error name, so HTTP mapping can read it.
func (e *FailedError) ErrorName() string { return e.Name }

// Is matches ErrFailed or ErrTimedOut by status.
func (e *FailedError) Is(target error) bool {
	return target == ErrFailed && e.Status == StatusFailed || target == ErrTimedOut && e.Status == StatusTimedOut
}
