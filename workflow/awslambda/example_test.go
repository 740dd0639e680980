package awslambda_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/storagefirst/storagefirst-go/workflow"
	"github.com/storagefirst/storagefirst-go/workflow/awslambda"
)

func ExampleTask() {
	cancelOrder := func(_ context.Context, in struct{ Username string }) (map[string]string, error) {
		return nil, workflow.Errorf("OrderNotFound", "no order for %s", in.Username)
	}
	// In main: lambda.Start(awslambda.Task(cancelOrder))
	_, err := awslambda.Task(cancelOrder)(context.Background(), struct{ Username string }{"ghost"})
	var le messages.InvokeResponse_Error
	if errors.As(err, &le) {
		fmt.Println(le.Type, "-", le.Message) // what the state machine's Catch sees
	}
	// Output: OrderNotFound - no order for ghost
}
