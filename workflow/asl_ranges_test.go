package workflow_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/workflow"
)

func TestParseASLRefusesWhatItWouldDropOrWhatASLForbids(t *testing.T) {
	t.Parallel()
	const lambda = `"Resource":"arn:aws:lambda:eu-west-1:1:function:f"`
	doc := func(top, task string) []byte {
		return []byte(`{"StartAt":"T"` + top + `,"States":{"T":{"Type":"Task",` + lambda + `,"End":true` + task + `}}}`)
	}
	for name, tc := range map[string]struct{ top, task, want string }{
		"parameters":            {"", `,"Parameters":{"FunctionName":"f","Payload.$":"$.body"}`, "Parameters are not run"},
		"interval 0":            {"", `,"Retry":[{"ErrorEquals":["X"],"IntervalSeconds":0}]`, "IntervalSeconds 0 is not positive"},
		"backoff below 1":       {"", `,"Retry":[{"ErrorEquals":["X"],"BackoffRate":0.5}]`, "BackoffRate 0.5 is below 1"},
		"max attempts too many": {"", `,"Retry":[{"ErrorEquals":["X"],"MaxAttempts":100000000}]`, "MaxAttempts 100000000 is outside"},
		"task timeout 0":        {"", `,"TimeoutSeconds":0`, `state "T": TimeoutSeconds 0 is not positive`},
		"timeout 0":             {`,"TimeoutSeconds":0`, "", "TimeoutSeconds 0 is not positive"},
	} {
		_, err := workflow.ParseASL(doc(tc.top, tc.task))
		require.ErrorIs(t, err, workflow.ErrInvalidDefinition, name)
		require.ErrorContains(t, err, tc.want, name)
	}
	// The dead-letter send's Parameters mean what DeadLetterTask does: kept.
	_, err := workflow.ParseASL([]byte(`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage",
		"Parameters":{"QueueUrl":"https://q","MessageBody.$":"$"},"End":true}}}`))
	require.NoError(t, err)
	_, err = workflow.ParseASL(doc(`,"TimeoutSeconds":25`, `,"TimeoutSeconds":3,"Retry":[{"ErrorEquals":["X"],"IntervalSeconds":1,"MaxAttempts":0,"BackoffRate":1}]`))
	require.NoError(t, err)
}
