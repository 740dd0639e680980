package workflow_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
	"github.com/storagefirst/storagefirst-go/workflow"
)

func TestSweepPrunesFinishedExecutionsPastRetention(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	wf, err := workflow.New("w", workflow.Definition{StartAt: "F", States: map[string]workflow.State{
		"F": workflow.Fail{Error: "OrderNotFound", Cause: "no such order"}}})
	require.NoError(t, err)
	for _, tc := range []struct {
		retention time.Duration
		kept      bool
	}{{0, false}, {time.Hour, false}, {-1, true}} {
		clock := sftest.NewFakeClock(time.Now())
		store := workflow.NewMemoryStore()
		e, err := workflow.NewEngine(workflow.EngineConfig{Store: store, DeadLetters: sftest.NewMemoryQueue(nil), Clock: clock,
			Retention: tc.retention}, wf)
		require.NoError(t, err)
		res, err := e.StartSync(ctx, wf, json.RawMessage(`{"id":"nope"}`))
		require.ErrorIs(t, err, workflow.ErrFailed)
		n, err := e.Prune(ctx)
		require.NoError(t, err)
		require.Zero(t, n, "retention %v: too young", tc.retention)

		clock.Advance(max(tc.retention, workflow.RetentionDefault) + time.Second)
		_, err = e.Sweep(ctx)
		require.NoError(t, err)
		_, err = store.Get(ctx, res.ExecutionID)
		if tc.kept {
			require.NoError(t, err, "a negative retention keeps everything")
		} else {
			require.ErrorIs(t, err, workflow.ErrNotFound, "retention %v: pruned by the sweep", tc.retention)
		}
	}
}
