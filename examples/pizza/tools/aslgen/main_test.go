package main

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/workflow"
)

// TestCheckedInASLIsCurrent fails when the Go definition changed and the ASL the
// CDK app deploys was not regenerated.
func TestCheckedInASLIsCurrent(t *testing.T) {
	want, err := Generate()
	require.NoError(t, err)
	got, err := os.ReadFile("../../infra/cancel-order.asl.json")
	require.NoError(t, err)
	require.Equal(t, string(want), string(got),
		"stale: run go run ./examples/pizza/tools/aslgen > examples/pizza/infra/cancel-order.asl.json")
	doc, err := workflow.ParseASL(got)
	require.NoError(t, err)
	require.Less(t, doc.TimeoutSeconds, 29, "inside API Gateway's 29 s")
}
