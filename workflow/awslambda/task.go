package awslambda

import (
	"context"
	"errors"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/storagefirst/storagefirst-go/workflow"
)

// Task turns a Go task function into a Lambda handler for a Step Functions
// lambda:invoke Task (lambda.Start(awslambda.Task(fn))). Its errors reach
// Step Functions with their States Language name (workflow.ErrorName) as the error type, so
// the state machine's Retry and Catch match them as the local engine does.
func Task[In, Out any](fn func(ctx context.Context, in In) (Out, error)) func(ctx context.Context, in In) (Out, error) {
	return func(ctx context.Context, in In) (Out, error) {
		out, err := fn(ctx, in)
		if err != nil {
			var zero Out
			var already *messages.InvokeResponse_Error
			if errors.As(err, &already) {
				return zero, err
			}
			return zero, &messages.InvokeResponse_Error{Type: workflow.ErrorName(err), Message: workflow.ErrorCause(err)}
		}
		return out, nil
	}
}
