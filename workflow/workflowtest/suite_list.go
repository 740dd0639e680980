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

// listCase: executions are listed most recent first, in bounded pages that follow
// one another without gaps or repeats.
func listCase(t *testing.T, newStore func(t *testing.T) workflow.Store) {
	t.Parallel()
	s := newStore(t)
	l, ok := s.(workflow.ExecutionLister)
	if !ok {
		t.Skipf("%T does not list executions", s)
	}
	ctx := context.Background()
	var ids []string
	for i := range 5 {
		e := workflow.Execution{ID: storagefirst.NewID(), Workflow: "w", Status: workflow.StatusSucceeded,
			Input: json.RawMessage(`{}`), StartedAt: time.Now(), Deadline: time.Now().Add(time.Minute), Version: 1,
			History: []workflow.Event{{At: time.Now(), Type: "ExecutionStarted", Attempt: i}}}
		require.NoError(t, s.Create(ctx, e))
		ids = append([]string{e.ID}, ids...) // most recent first
	}
	var got []string
	after := ""
	for range 3 {
		page, err := l.ListExecutions(ctx, after, 2)
		require.NoError(t, err)
		require.LessOrEqual(t, len(page), 2)
		for _, e := range page {
			got = append(got, e.ID)
			require.Len(t, e.History, 1, "with their history")
		}
		if len(page) == 0 {
			break
		}
		after = page[len(page)-1].ID
	}
	require.Equal(t, ids, got)
	page, err := l.ListExecutions(ctx, ids[len(ids)-1], 2)
	require.NoError(t, err)
	require.Empty(t, page)
}
