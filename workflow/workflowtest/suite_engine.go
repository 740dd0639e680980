package workflowtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
	"github.com/storagefirst/storagefirst-go/workflow"
)

// recordingDest is a DeadLetterDestination that counts what it stores per
// execution ID and refuses what refuse says.
type recordingDest struct {
	mu     sync.Mutex
	sent   map[string]int
	refuse func(id string) bool
}

func newRecordingDest() *recordingDest { return &recordingDest{sent: map[string]int{}} }

func (d *recordingDest) SendDeadLetter(_ context.Context, dl storagefirst.DeadLetter) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.refuse != nil && d.refuse(dl.Envelope.ID) {
		return errors.New("dlq refuses it")
	}
	d.sent[dl.Envelope.ID]++
	return nil
}

func (d *recordingDest) setRefuse(f func(string) bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.refuse = f
}

func (d *recordingDest) count(id string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sent[id]
}

// interrupted stores an execution a crash left RUNNING long past its deadline.
func interrupted(t *testing.T, s workflow.Store, now time.Time, age time.Duration) string {
	t.Helper()
	e := workflow.Execution{ID: storagefirst.NewID(), Workflow: "w", Status: workflow.StatusRunning,
		Input: json.RawMessage(`{"n":1}`), State: "T", StateInput: json.RawMessage(`{"n":1}`),
		StartedAt: now.Add(-age), Deadline: now.Add(-age + time.Minute), Version: 1}
	require.NoError(t, s.Create(context.Background(), e))
	return e.ID
}

func okTask(context.Context, json.RawMessage) (json.RawMessage, error) {
	return json.RawMessage(`{}`), nil
}

// runEngine runs the engine against the store: the order of dead letter and
// terminal write, retention, and concurrent sweepers, as they depend on the
// store's conditional updates and queries.
func runEngine(t *testing.T, newStore func(t *testing.T) workflow.Store) {
	wf, err := workflow.New("w", workflow.Definition{StartAt: "T", States: map[string]workflow.State{
		"T": workflow.Task{Run: okTask, End: true}}})
	require.NoError(t, err)
	never := storagefirst.RetryPolicy{NoRetries: true}

	t.Run("EnginePrunesEveryBatch", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		ctx := context.Background()
		clock := sftest.NewFakeClock(time.Now().UTC().Truncate(time.Microsecond))
		e, err := workflow.NewEngine(workflow.EngineConfig{Store: s, DeadLetters: newRecordingDest(), Clock: clock}, wf)
		require.NoError(t, err)
		const n = 2*workflow.SweepLimit + 5
		ids := make([]string, 0, n)
		for range n {
			res, err := e.StartSync(ctx, wf, json.RawMessage(`{}`))
			require.NoError(t, err)
			ids = append(ids, res.ExecutionID)
		}
		clock.Advance(workflow.RetentionDefault + time.Minute)
		_, err = e.Sweep(ctx)
		require.NoError(t, err)
		for _, id := range ids {
			_, err := s.Get(ctx, id)
			require.ErrorIs(t, err, workflow.ErrNotFound, "one sweep prunes more than one batch")
		}
	})

	t.Run("EngineNeverPrunesAnUndeliveredFailure", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		ctx := context.Background()
		boom := func(context.Context, json.RawMessage) (json.RawMessage, error) {
			return nil, workflow.Errorf("Boom", "x")
		}
		stateDest, engineDest := newRecordingDest(), newRecordingDest()
		down := func(string) bool { return true }
		stateDest.setRefuse(down)
		engineDest.setRefuse(down)
		caught, err := workflow.New("c", workflow.Definition{StartAt: "T", States: map[string]workflow.State{
			"T": workflow.Task{Run: boom, End: true,
				Catch: []workflow.Catcher{{ErrorEquals: []string{workflow.ErrorAll}, Next: "DLQ", ResultPath: "$.error"}}},
			"DLQ": workflow.Task{Run: workflow.DeadLetterTask(stateDest), Next: "F"},
			"F":   workflow.Fail{Error: "CancelFailed"},
		}})
		require.NoError(t, err)
		clock := sftest.NewFakeClock(time.Now().UTC().Truncate(time.Microsecond))
		e, err := workflow.NewEngine(workflow.EngineConfig{Store: s, DeadLetters: engineDest, Clock: clock, DeadLetterRetry: never}, caught)
		require.NoError(t, err)
		res, err := e.StartSync(ctx, caught, json.RawMessage(`{"id":"o1"}`))
		require.ErrorIs(t, err, workflow.ErrFailed)
		for range 4 {
			clock.Advance(workflow.RetentionDefault / 2)
			_, err = e.Sweep(ctx)
			require.ErrorContains(t, err, "dlq refuses it")
			exec, err := s.Get(ctx, res.ExecutionID)
			require.NoError(t, err, "not pruned while its dead letter is not stored")
			require.Equal(t, workflow.StatusRunning, exec.Status)
			require.Equal(t, workflow.StatusFailed, exec.Pending)
		}
		engineDest.setRefuse(nil)
		clock.Advance(2 * time.Hour)
		n, err := e.Sweep(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		exec, err := s.Get(ctx, res.ExecutionID)
		require.NoError(t, err)
		require.Equal(t, workflow.StatusFailed, exec.Status)
		require.Equal(t, 1, engineDest.count(res.ExecutionID))
	})

	t.Run("EngineTwoSweepersDeadLetterOnce", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		ctx := context.Background()
		clock := sftest.NewFakeClock(time.Now().UTC().Truncate(time.Microsecond))
		dest := newRecordingDest()
		var ids []string
		for i := range 20 {
			ids = append(ids, interrupted(t, s, clock.Now(), time.Hour+time.Duration(i)*time.Second))
		}
		var engines [2]*workflow.Engine
		for i := range engines {
			engines[i], err = workflow.NewEngine(workflow.EngineConfig{Store: s, DeadLetters: dest, Clock: clock, DeadLetterRetry: never}, wf)
			require.NoError(t, err)
		}
		var wg sync.WaitGroup
		counts := make([]int, len(engines))
		errs := make([]error, len(engines))
		for i, e := range engines {
			wg.Add(1)
			go func() { defer wg.Done(); counts[i], errs[i] = e.Sweep(ctx) }()
		}
		wg.Wait()
		require.NoError(t, errors.Join(errs...))
		require.Equal(t, len(ids), counts[0]+counts[1], "each execution recovered by one sweeper")
		for _, id := range ids {
			require.Equal(t, 1, dest.count(id), "dead-lettered exactly once: %s", id)
			exec, err := s.Get(ctx, id)
			require.NoError(t, err)
			require.Equal(t, workflow.StatusFailed, exec.Status)
			require.Equal(t, workflow.ErrorInterrupted, exec.Error)
		}
	})

	t.Run("EngineBacksOffARefusedDeadLetter", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		ctx := context.Background()
		clock := sftest.NewFakeClock(time.Now().UTC().Truncate(time.Microsecond))
		poisoned := map[string]bool{}
		for i := range workflow.SweepLimit {
			poisoned[interrupted(t, s, clock.Now(), 2*time.Hour+time.Duration(i)*time.Second)] = true
		}
		newer := interrupted(t, s, clock.Now(), time.Hour)
		dest := newRecordingDest()
		dest.setRefuse(func(id string) bool { return poisoned[id] })
		e, err := workflow.NewEngine(workflow.EngineConfig{Store: s, DeadLetters: dest, Clock: clock, DeadLetterRetry: never}, wf)
		require.NoError(t, err)
		sweeps := 0
		for dest.count(newer) == 0 {
			sweeps++
			require.LessOrEqual(t, sweeps, 4, "SweepLimit dead letters that are never taken hide a newer one")
			_, _ = e.Sweep(ctx)
			clock.Advance(workflow.SweepGraceDefault + time.Second)
		}
		exec, err := s.Get(ctx, newer)
		require.NoError(t, err)
		require.Equal(t, workflow.StatusFailed, exec.Status)
		for id := range poisoned {
			exec, err := s.Get(ctx, id)
			require.NoError(t, err)
			require.Equal(t, workflow.StatusRunning, exec.Status, fmt.Sprintf("%s kept for a later sweep", id))
		}
	})
}
