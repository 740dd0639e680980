package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// SweepLimit bounds the executions one Sweep recovers.
const SweepLimit = 100

// Sweep finds executions that a crash interrupted (still RUNNING SweepGrace past
// their deadline), and those whose dead letter was not yet stored, and recovers
// each as the engine's Recovery says; then it prunes finished executions past
// the engine's Retention (Prune). It takes an execution over with a conditional
// update, so concurrent sweepers (and a slow engine that comes back) never both
// drive one. It returns how many it recovered.
func (e *Engine) Sweep(ctx context.Context) (int, error) {
	execs, err := e.cfg.Store.Interrupted(ctx, e.cfg.Clock.Now().Add(-e.cfg.SweepGrace), SweepLimit)
	if err != nil {
		return 0, err
	}
	defer func() {
		if n, err := e.Prune(ctx); err != nil {
			e.cfg.Logger.WarnContext(ctx, "workflow: pruning finished executions", "error", err)
		} else if n > 0 {
			e.cfg.Logger.InfoContext(ctx, "workflow: pruned finished executions", "count", n)
		}
	}()
	n := 0
	var errs []error
	for _, exec := range execs {
		if err := e.recoverOne(ctx, exec); err != nil {
			if !errors.Is(err, ErrConflict) {
				errs = append(errs, err)
			}
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// pruneBudget bounds the time one Prune spends deleting, batch after batch.
const pruneBudget = 5 * time.Second

// Prune deletes the finished executions that stopped more than the engine's
// Retention ago (none when Retention is negative), SweepLimit at a time, until a
// batch deletes fewer or pruneBudget (5 s) has passed, and returns how many it
// deleted. An execution whose dead letter is not stored yet is RUNNING, and never
// pruned.
func (e *Engine) Prune(ctx context.Context) (int, error) {
	if e.cfg.Retention < 0 {
		return 0, nil
	}
	before := e.cfg.Clock.Now().Add(-e.cfg.Retention)
	ctx, cancel := context.WithTimeout(ctx, pruneBudget)
	defer cancel()
	total := 0
	for {
		n, err := e.cfg.Store.Prune(ctx, before, SweepLimit)
		total += n
		if err != nil {
			if ctx.Err() != nil && total > 0 {
				return total, nil // out of time; the next sweep goes on
			}
			return total, err
		}
		if n < SweepLimit || ctx.Err() != nil {
			return total, nil
		}
	}
}

func (e *Engine) recoverOne(ctx context.Context, exec Execution) error {
	wf, known := e.workflows[exec.Workflow]
	if e.cfg.Recovery == RecoverResume && known && exec.Pending == "" {
		exec.Deadline = e.cfg.Clock.Now().Add(wf.Def.Timeout)
		exec.record(Event{At: e.cfg.Clock.Now(), Type: "ExecutionResumed", State: exec.State})
		exec.Version++
		if err := e.cfg.Store.Update(ctx, exec); err != nil { // the take-over
			return err
		}
		e.cfg.Logger.WarnContext(ctx, "workflow: resuming an interrupted execution", "execution_id", exec.ID, "state", exec.State)
		_, err := e.run(ctx, wf, exec)
		var fe *FailedError
		if errors.As(err, &fe) {
			return nil // it ran to an end; the end is recorded
		}
		return err
	}
	// The take-over: still RUNNING, with a deadline of now (or later, when
	// earlier sweeps failed to send it: backing off), so no other sweep takes it
	// for SweepGrace, and a crash from here on leaves it to a later one.
	now := e.cfg.Clock.Now()
	exec.Deadline = now.Add(sweepBackoff(exec, e.cfg.SweepGrace))
	exec.record(Event{At: now, Type: deadLetteringEvent, State: exec.State})
	exec.Version++
	if err := e.cfg.Store.Update(ctx, exec); err != nil {
		return err
	}
	// The dead letter first; the execution is terminal only once it is durable. A
	// crash between the two writes sends the dead letter again on the next sweep
	// (at least once; the destination keys it by the execution ID).
	end := exec
	switch end.Pending {
	case "":
		e.finish(&end, StatusFailed, nil, ErrorInterrupted, "interrupted in state "+exec.State+" and dead-lettered by the sweeper")
	default:
		e.finish(&end, end.Pending, nil, end.Error, end.Cause)
	}
	end.Pending = ""
	// It must be sent before another sweeper may take the execution over
	// (SweepGrace from now), leaving time for the terminal write.
	until := now.Add(e.cfg.SweepGrace - writeTimeout)
	if err := e.sendDeadLetter(ctx, deadLetterOf(end, end.State, end.Error, end.Cause), until); err != nil {
		return err
	}
	end.Version++
	return e.cfg.Store.Update(ctx, end)
}

// deadLetteringEvent is the history event of a sweeper's take-over.
const deadLetteringEvent = "ExecutionDeadLettering"

// sweepBackoffLimit bounds how long a sweep backs off an execution whose dead
// letter earlier sweeps failed to send.
const sweepBackoffLimit = time.Hour

// sweepBackoff is how much later than now a sweep sets the deadline of an
// execution it takes over: nothing the first time; then, after each failed
// attempt, twice as long as before (SweepGrace, 2 x SweepGrace, ...), at most
// sweepBackoffLimit. So a dead letter the destination keeps refusing is tried
// less and less often, and does not crowd out the others (Interrupted returns
// the oldest first, SweepLimit at a time).
func sweepBackoff(exec Execution, grace time.Duration) time.Duration {
	tries := 0
	for _, ev := range exec.History {
		if ev.Type == deadLetteringEvent {
			tries++
		}
	}
	if tries == 0 {
		return 0
	}
	d := grace
	for i := 1; i < tries && d < sweepBackoffLimit; i++ {
		d *= 2
	}
	return min(d, sweepBackoffLimit)
}

// deadLetterOf makes the dead letter of an execution: its envelope is the
// execution's input under the execution ID, typed "workflow.<name>", so a replay
// through Engine.Handler starts it again; the history goes into the failure.
func deadLetterOf(exec Execution, state, name, cause string) storagefirst.DeadLetter {
	env := storagefirst.Envelope{ID: exec.ID, Type: "workflow." + exec.Workflow, Source: "workflow:" + exec.Workflow,
		AcceptedAt: exec.StartedAt, Payload: exec.Input}
	_ = env.Normalize()
	h, _ := json.Marshal(exec.History)
	history := capBytes(string(h), maxDeadLetterHistory)
	attempts := 0
	for _, ev := range exec.History {
		if ev.Type == "TaskFailed" {
			attempts++
		}
	}
	f := storagefirst.Failure{Attempt: max(attempts, 1), At: exec.StoppedAt, Class: storagefirst.ClassRetryable.String(),
		Code: name, Error: capBytes(cause, maxDeadLetterCause) + "; history: " + history, Origin: "workflow:" + exec.Workflow + "/" + state}
	if f.At.IsZero() {
		f.At = exec.StartedAt
	}
	return storagefirst.DeadLetter{Envelope: env, Failures: []storagefirst.Failure{f}, DeadAt: f.At}
}

// DeadLetterTask returns a TaskFunc for the state a Catch sends failures to: it
// sends the execution (its original input, under the execution ID) with the caught
// Error and Cause to dest, and passes its input on. Its ASL counterpart is
// SQSSendMessage.
func DeadLetterTask(dest DeadLetterDestination) TaskFunc {
	return func(ctx context.Context, input json.RawMessage) (json.RawMessage, error) {
		info, ok := ExecutionFromContext(ctx)
		if !ok {
			return nil, &NamedError{Name: ErrorRuntime, Cause: "DeadLetterTask runs only inside an execution"}
		}
		var caught struct{ Error, Cause string }
		_ = json.Unmarshal(input, &caught)
		if caught.Error == "" {
			if v, ok := getPath(input, "$.error"); ok {
				_ = json.Unmarshal(v, &caught)
			}
		}
		now := time.Now()
		if info.clock != nil {
			now = info.clock.Now() // the engine's clock
		}
		exec := Execution{ID: info.ID, Workflow: info.Workflow, Input: info.Input, StartedAt: now,
			History: []Event{{At: now, Type: "Caught", State: info.State, Error: caught.Error, Cause: caught.Cause}}}
		if err := dest.SendDeadLetter(ctx, deadLetterOf(exec, info.State, caught.Error, caught.Cause)); err != nil {
			return nil, &NamedError{Name: ErrorTaskFailed, Cause: "dead letter not stored: " + err.Error()}
		}
		return input, nil
	}
}

// Handler returns a storagefirst.Handler that runs wf with each envelope's payload
// as input: an asynchronous way in (a queue of workflow runs), and how dead
// letters of wf (type "workflow.<name>") are replayed. A FAILED or TIMED_OUT
// execution is returned as a retryable error; a permanent one when its error is
// States.Runtime, or when the workflow refuses the input (ErrInvalidInput).
func (e *Engine) Handler(wf *Workflow) storagefirst.Handler {
	return storagefirst.HandlerFunc(func(ctx context.Context, env storagefirst.Envelope) error {
		_, err := e.StartSync(ctx, wf, env.Payload)
		var fe *FailedError
		if errors.As(err, &fe) && fe.Name == ErrorRuntime || errors.Is(err, ErrInvalidInput) {
			return storagefirst.Permanent(err)
		}
		return err
	})
}
