package sfn_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/storagefirst/storagefirst-go/awsfake"
	"github.com/storagefirst/storagefirst-go/workflow/sfn"
)

func ExampleStarter() {
	fake := awsfake.New() // in production: the real Step Functions endpoint
	defer fake.Close()
	fake.OnStartSyncExecution(func(awsfake.StartSyncInput) awsfake.StartSyncOutput {
		return awsfake.StartSyncOutput{Status: "FAILED", Error: "OrderNotFound", Cause: "no order for ghost"}
	})
	client := awssfn.NewFromConfig(fake.Config(), func(o *awssfn.Options) { o.BaseEndpoint = aws.String(fake.URL()) }, sfn.WithoutHostPrefix)
	s := &sfn.Starter{Client: client, StateMachineARN: "arn:aws:states:us-east-1:111122223333:stateMachine:cancel-order"}
	res, err := s.StartSync(context.Background(), json.RawMessage(`{"username":"ghost"}`))
	fmt.Println(res.Status, res.Error)
	fmt.Println(err != nil) // a FAILED execution is an error, never a success
	// Output:
	// FAILED OrderNotFound
	// true
}
