package workflowtest

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/workflow"
)

// RunStoreSuite runs the Store conformance suite; each subtest gets a fresh store.
func RunStoreSuite(t *testing.T, newStore func(t *testing.T) workflow.Store) {
	runPrune(t, newStore)
	runEngine(t, newStore)
	t.Run("CreateGetRoundTrip", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Microsecond)
		exec := workflow.Execution{ID: storagefirst.NewID(), Workflow: "cancel", Status: workflow.StatusRunning,
			Input: json.RawMessage(`{"username":"lee","n":1.50}`), State: "T", StateInput: json.RawMessage(`{"b":2,"a":1}`),
			Retries: []int{2, 0}, StartedAt: now, Deadline: now.Add(time.Minute), Version: 1,
			History: []workflow.Event{{At: now, Type: "ExecutionStarted"}}}
		require.NoError(t, s.Create(ctx, exec))
		got, err := s.Get(ctx, exec.ID)
		require.NoError(t, err)
		require.Equal(t, string(exec.Input), string(got.Input), "input kept byte for byte")
		require.Equal(t, string(exec.StateInput), string(got.StateInput))
		require.True(t, exec.Deadline.Equal(got.Deadline))
		got.Deadline, got.StartedAt, got.History[0].At = exec.Deadline, exec.StartedAt, exec.History[0].At
		require.Equal(t, exec, got)
		require.Error(t, s.Create(ctx, exec), "an ID is created once")
		_, err = s.Get(ctx, "missing")
		require.ErrorIs(t, err, workflow.ErrNotFound)
	})
	t.Run("UpdateIsConditional", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		ctx := context.Background()
		exec := workflow.Execution{ID: storagefirst.NewID(), Workflow: "w", Status: workflow.StatusRunning,
			Input: json.RawMessage(`{}`), StartedAt: time.Now(), Deadline: time.Now().Add(time.Minute), Version: 1}
		require.NoError(t, s.Create(ctx, exec))
		// Two takers of version 1: exactly one wins.
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				e := exec
				e.Version = 2
				err := s.Update(ctx, e)
				if err == nil {
					wins.Add(1)
				} else if !errors.Is(err, workflow.ErrConflict) {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		require.Equal(t, int32(1), wins.Load())
		exec.Version, exec.Status, exec.Output = 3, workflow.StatusSucceeded, json.RawMessage(`{"ok":true}`)
		require.NoError(t, s.Update(ctx, exec))
		got, err := s.Get(ctx, exec.ID)
		require.NoError(t, err)
		require.Equal(t, workflow.StatusSucceeded, got.Status)
		require.JSONEq(t, `{"ok":true}`, string(got.Output))
		missing := exec
		missing.ID = "missing"
		require.ErrorIs(t, s.Update(ctx, missing), workflow.ErrNotFound)
	})
	t.Run("ListExecutions", func(t *testing.T) { listCase(t, newStore) })
	t.Run("Interrupted", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		ctx := context.Background()
		now := time.Now()
		mk := func(status workflow.Status, deadline time.Time, started time.Duration) string {
			e := workflow.Execution{ID: storagefirst.NewID(), Workflow: "w", Status: status, Input: json.RawMessage(`{}`),
				StartedAt: now.Add(started), Deadline: deadline, Version: 1}
			require.NoError(t, s.Create(ctx, e))
			return e.ID
		}
		late2 := mk(workflow.StatusRunning, now.Add(-time.Minute), -time.Hour)
		late1 := mk(workflow.StatusRunning, now.Add(-time.Minute), -2*time.Hour)
		mk(workflow.StatusRunning, now.Add(time.Hour), 0)
		mk(workflow.StatusSucceeded, now.Add(-time.Hour), -3*time.Hour)
		got, err := s.Interrupted(ctx, now, 10)
		require.NoError(t, err)
		var ids []string
		for _, e := range got {
			ids = append(ids, e.ID)
		}
		require.Equal(t, []string{late1, late2}, ids, "running, past the time, oldest first")
		got, err = s.Interrupted(ctx, now, 1)
		require.NoError(t, err)
		require.Len(t, got, 1)
	})
}
