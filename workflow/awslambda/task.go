package awslambda

import (
	"context"
	"errors"
	"reflect"
	"strings"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/storagefirst/storagefirst-go/workflow"
)

// Task turns a Go task function into a Lambda handler for a Step Functions Task
// (lambda.Start(awslambda.Task(fn))). Its errors reach Step Functions with an
// error type that the state machine's Retry and Catch match: a Named error's name
// (workflow.Errorf("OrderNotFound", ...)), as with the local engine. An error
// without a name, or with a reserved "States." name (which a function may not
// report), takes the name Step Functions gives Lambda function errors: the Go type
// name of the error, as the Go Lambda runtime reports it (e.g. "errorString" for
// errors.New). The error returned is a messages.InvokeResponse_Error value, the
// one form the runtime passes on unchanged. States.TaskFailed and States.ALL
// match those as they match the local engine's States.TaskFailed.
func Task[In, Out any](fn func(ctx context.Context, in In) (Out, error)) func(ctx context.Context, in In) (Out, error) {
	return func(ctx context.Context, in In) (Out, error) {
		out, err := fn(ctx, in)
		if err != nil {
			var zero Out
			// The Go runtime reports the type and message of an
			// InvokeResponse_Error value as they are; anything else, a pointer to
			// one included, is reported under its Go type name
			// ("InvokeResponse_Error"), which no Retry or Catch would match.
			var v messages.InvokeResponse_Error
			if errors.As(err, &v) {
				return zero, v
			}
			var p *messages.InvokeResponse_Error
			if errors.As(err, &p) && p != nil {
				return zero, *p
			}
			return zero, messages.InvokeResponse_Error{Type: errorType(err), Message: workflow.ErrorCause(err)}
		}
		return out, nil
	}
}

// errorType is the error type a Lambda function reports for err: its Named name
// unless reserved, else the Go type name of the error.
func errorType(err error) string {
	var n workflow.Named
	if errors.As(err, &n) && n.ErrorName() != "" && !strings.HasPrefix(n.ErrorName(), "States.") {
		return n.ErrorName()
	}
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Name() == "" {
		return "Lambda.Unknown"
	}
	return t.Name()
}
