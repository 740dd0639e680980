package rdsiam_test

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
)

type staticCreds struct{}

func (staticCreds) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret", Source: "test"}, nil
}
