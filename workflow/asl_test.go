package workflow_test

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
	"github.com/storagefirst/storagefirst-go/workflow"
)

var update = flag.Bool("update", false, "rewrite golden files")

var cancelResources = map[string]workflow.Resource{
	"cancel-order": workflow.LambdaInvoke("arn:aws:lambda:us-east-1:111122223333:function:cancel-order"),
	"dlq":          workflow.SQSSendMessage("https://sqs.us-east-1.amazonaws.com/111122223333/cancel-order-dlq"),
}

func TestASLGoldenCancelOrder(t *testing.T) {
	t.Parallel()
	noop := task(func(_ context.Context, in json.RawMessage) (json.RawMessage, error) { return in, nil })
	wf, err := workflow.New("cancel-order", cancelOrder(noop, sftest.NewMemoryQueue(nil)))
	require.NoError(t, err)
	got, err := wf.ASL(cancelResources)
	require.NoError(t, err)
	const golden = "testdata/cancel-order.asl.json"
	if *update {
		require.NoError(t, os.WriteFile(golden, got, 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "run go test ./workflow -run Golden -update to accept")

	// It parses, and the parsed document turns back into the same definition.
	doc, err := workflow.ParseASL(got)
	require.NoError(t, err)
	require.Equal(t, "arn:aws:lambda:us-east-1:111122223333:function:cancel-order", doc.States["CancelOrder"].Resource)
	require.Empty(t, doc.States["CancelOrder"].Parameters, "the function ARN form: the result is the response itself")
	require.Equal(t, 25, doc.TimeoutSeconds)
	r := doc.States["CancelOrder"].Retry[0]
	require.Equal(t, workflow.ASLRetrier{ErrorEquals: r.ErrorEquals, IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 2}, r)
	require.Equal(t, []workflow.ASLCatcher{{ErrorEquals: []string{"States.ALL"}, Next: "SendToDLQ", ResultPath: "$.error"}},
		doc.States["CancelOrder"].Catch)
	def, err := doc.Definition(map[string]workflow.TaskFunc{"CancelOrder": noop, "SendToDLQ": noop},
		map[string]string{"CancelOrder": "cancel-order", "SendToDLQ": "dlq"})
	require.NoError(t, err)
	wf2, err := workflow.New("cancel-order", def)
	require.NoError(t, err)
	again, err := wf2.ASL(cancelResources)
	require.NoError(t, err)
	require.Equal(t, string(got), string(again), "round trip")

	_, err = wf.ASL(map[string]workflow.Resource{})
	require.ErrorContains(t, err, `no resource for task "CancelOrder"`)
}

func TestParseASLRejectsBrokenDocuments(t *testing.T) {
	t.Parallel()
	_, err := workflow.ParseASL([]byte(`{"StartAt":"A","States":{"A":{"Type":"Task","Next":"B"},"W":{"Type":"Wait","End":true},` +
		`"C":{"Type":"Task","Resource":"r","End":true,"Catch":[{"ErrorEquals":["States.ALL"],"Next":"A"},{"ErrorEquals":["X"],"Next":"A"}]}}}`))
	for _, want := range []string{`task "A" has no Resource`, `"B" is not a state`, `type "Wait" is not supported`, "States.ALL must be alone"} {
		require.ErrorContains(t, err, want)
	}
	_, err = workflow.ParseASL([]byte(`not json`))
	require.ErrorIs(t, err, workflow.ErrInvalidDefinition)
}
