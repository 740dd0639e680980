package sfn_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/awsfake"
	"github.com/storagefirst/storagefirst-go/workflow"
	"github.com/storagefirst/storagefirst-go/workflow/sfn"
)

func TestStepFunctionsClientMapsEveryStatus(t *testing.T) {
	t.Parallel()
	fake := awsfake.New()
	defer fake.Close()
	const arn = "arn:aws:states:us-east-1:111122223333:stateMachine:cancel-order"
	var got awsfake.StartSyncInput
	fake.OnStartSyncExecution(func(in awsfake.StartSyncInput) awsfake.StartSyncOutput {
		got = in
		var body struct{ Username string }
		_ = json.Unmarshal([]byte(in.Input), &body)
		switch body.Username {
		case "lee":
			return awsfake.StartSyncOutput{Status: "SUCCEEDED", Output: `{"status":"cancelled"}`}
		case "slow":
			return awsfake.StartSyncOutput{Status: "TIMED_OUT", Error: "States.Timeout", Cause: "too slow"}
		}
		return awsfake.StartSyncOutput{Status: "FAILED", Error: "OrderNotFound", Cause: "no order"}
	})
	client := awssfn.NewFromConfig(fake.Config(), func(o *awssfn.Options) { o.BaseEndpoint = aws.String(fake.URL()) }, sfn.WithoutHostPrefix)
	sf := &sfn.Starter{Client: client, StateMachineARN: arn}
	ctx := context.Background()

	res, err := sf.StartSync(ctx, json.RawMessage(`{"username":"lee"}`))
	require.NoError(t, err)
	require.Equal(t, workflow.StatusSucceeded, res.Status)
	require.JSONEq(t, `{"status":"cancelled"}`, string(res.Output))
	require.Equal(t, arn, got.StateMachineArn)
	require.Contains(t, res.ExecutionID, ":express:")

	res, err = sf.StartSync(ctx, json.RawMessage(`{"username":"bob"}`))
	require.ErrorIs(t, err, workflow.ErrFailed, "a FAILED execution is an error, never a success")
	require.Equal(t, "OrderNotFound", res.Error)
	require.Equal(t, "no order", res.Cause)

	res, err = sf.StartSync(ctx, json.RawMessage(`{"username":"slow"}`))
	require.ErrorIs(t, err, workflow.ErrTimedOut)
	require.Equal(t, workflow.StatusTimedOut, res.Status)

	// Without the option the SDK prefixes the host with "sync-", which no local
	// server answers to.
	plain := &sfn.Starter{Client: awssfn.NewFromConfig(fake.Config(), func(o *awssfn.Options) {
		o.BaseEndpoint = aws.String(fake.URL())
		o.RetryMaxAttempts = 1
	}), StateMachineARN: arn}
	_, err = plain.StartSync(ctx, nil)
	require.ErrorContains(t, err, "sync-127.0.0.1")
}
