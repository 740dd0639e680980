// Command aslgen writes the cancel workflow's Amazon States Language, exported from
// the Go definition the local engine runs, for the CDK app:
//
//	go run ./examples/pizza/tools/aslgen > examples/pizza/infra/cancel-order.asl.json
//
// The task and the dead-letter queue are CloudFormation substitutions
// (${CancelOrderFunctionArn}, ${CancelDlqUrl}) that the stack fills in. A test fails
// when the checked-in file is stale.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/storagefirst/storagefirst-go/examples/pizza/shop"
	"github.com/storagefirst/storagefirst-go/workflow"
)

// Generate returns the ASL document.
func Generate() ([]byte, error) {
	noop := func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, nil }
	wf, err := workflow.New(shop.WorkflowCancel, shop.CancelWorkflow(noop, nil, shop.CancelTimeoutDefault))
	if err != nil {
		return nil, err
	}
	return wf.ASL(map[string]workflow.Resource{
		"cancel-order": workflow.LambdaInvoke("${CancelOrderFunctionArn}"),
		"dlq":          workflow.SQSSendMessage("${CancelDlqUrl}"),
	})
}

func main() {
	b, err := Generate()
	if err != nil {
		fmt.Fprintln(os.Stderr, "aslgen:", err)
		os.Exit(1)
	}
	os.Stdout.Write(b)
}
