package sfn

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/storagefirst/storagefirst-go/workflow"
)

// StartSyncExecutionAPI is the part of the Step Functions client Starter uses.
type StartSyncExecutionAPI interface {
	StartSyncExecution(ctx context.Context, in *awssfn.StartSyncExecutionInput, optFns ...func(*awssfn.Options)) (*awssfn.StartSyncExecutionOutput, error)
}

// Starter starts an Express state machine synchronously and returns the same
// workflow.Result as the local engine: SUCCEEDED with the output, or FAILED / TIMED_OUT
// with Error and Cause, returned as a *workflow.FailedError too. (StartSyncExecution
// answers HTTP 200 for all three; this is where a FAILED execution stops being
// mistaken for a success.)
type Starter struct {
	Client          StartSyncExecutionAPI
	StateMachineARN string
}

var _ workflow.Starter = (*Starter)(nil)

// StartSync runs the state machine on input.
func (s *Starter) StartSync(ctx context.Context, input json.RawMessage) (workflow.Result, error) {
	if len(input) == 0 {
		input = json.RawMessage("{}")
	}
	out, err := s.Client.StartSyncExecution(ctx, &awssfn.StartSyncExecutionInput{
		StateMachineArn: aws.String(s.StateMachineARN), Input: aws.String(string(input))})
	if err != nil {
		return workflow.Result{}, fmt.Errorf("sfn: start sync execution: %w", err)
	}
	res := workflow.Result{ExecutionID: aws.ToString(out.ExecutionArn), Status: workflow.Status(out.Status),
		Error: aws.ToString(out.Error), Cause: aws.ToString(out.Cause), StartDate: aws.ToTime(out.StartDate), StopDate: aws.ToTime(out.StopDate)}
	if out.Output != nil {
		res.Output = json.RawMessage(*out.Output)
	}
	switch res.Status {
	case workflow.StatusSucceeded, workflow.StatusFailed, workflow.StatusTimedOut:
	default:
		return res, fmt.Errorf("sfn: start sync execution: unexpected status %q", res.Status)
	}
	return res, res.Err()
}

// WithoutHostPrefix is an sfn.Options function for local endpoints: the SDK sends
// StartSyncExecution to "sync-" + the endpoint's host, which a local server does
// not answer to. It disables the prefix with a middleware in the Initialize step
// (setting it on the caller's context does not work).
func WithoutHostPrefix(o *awssfn.Options) {
	o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("storagefirstDisableHostPrefix",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				return next.HandleInitialize(smithyhttp.DisableEndpointHostPrefix(ctx, true), in)
			}), middleware.Before)
	})
}
