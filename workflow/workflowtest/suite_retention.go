package workflowtest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/workflow"
)

// runPrune checks retention: Prune deletes finished executions that stopped
// before the given time, oldest first, up to the limit, and never a running one
// (nor one that waits for its dead letter); a second Create of an ID is ErrExists.
func runPrune(t *testing.T, newStore func(t *testing.T) workflow.Store) {
	t.Run("Prune", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Microsecond)
		mk := func(status workflow.Status, stopped time.Duration, pending workflow.Status) string {
			e := workflow.Execution{ID: storagefirst.NewID(), Workflow: "w", Status: workflow.StatusRunning,
				Input: json.RawMessage(`{}`), StartedAt: now.Add(-48 * time.Hour), Deadline: now.Add(-47 * time.Hour), Version: 1}
			require.NoError(t, s.Create(ctx, e))
			require.ErrorIs(t, s.Create(ctx, e), workflow.ErrExists)
			e.Status, e.Pending, e.Version = status, pending, 2
			if status != workflow.StatusRunning || pending != "" {
				e.StoppedAt = now.Add(stopped)
			}
			require.NoError(t, s.Update(ctx, e))
			return e.ID
		}
		oldest := mk(workflow.StatusFailed, -3*time.Hour, "")
		older := mk(workflow.StatusSucceeded, -2*time.Hour, "")
		old := mk(workflow.StatusTimedOut, -90*time.Minute, "")
		recent := mk(workflow.StatusSucceeded, -time.Minute, "")
		running := mk(workflow.StatusRunning, 0, "")
		pending := mk(workflow.StatusRunning, -5*time.Hour, workflow.StatusTimedOut)

		n, err := s.Prune(ctx, now.Add(-time.Hour), 2)
		require.NoError(t, err)
		require.Equal(t, 2, n, "bounded by the limit")
		for _, id := range []string{oldest, older} {
			_, err := s.Get(ctx, id)
			require.ErrorIs(t, err, workflow.ErrNotFound, "the oldest go first")
		}
		n, err = s.Prune(ctx, now.Add(-time.Hour), 10)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		_, err = s.Get(ctx, old)
		require.ErrorIs(t, err, workflow.ErrNotFound)
		for _, id := range []string{recent, running, pending} {
			_, err := s.Get(ctx, id)
			require.NoError(t, err, "kept: recent, running, or waiting for its dead letter")
		}
		n, err = s.Prune(ctx, now.Add(-time.Hour), 10)
		require.NoError(t, err)
		require.Zero(t, n)
	})
}
