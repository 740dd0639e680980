package awsput

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

func apiErr(status int, code string, fault smithy.ErrorFault) error {
	resp := &smithyhttp.Response{Response: &http.Response{StatusCode: status}}
	return &smithyhttp.ResponseError{Response: resp, Err: &smithy.GenericAPIError{Code: code, Message: "m", Fault: fault}}
}

func TestClassifyRequestError(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name      string
		err       error
		permanent bool
	}{
		{"validation", apiErr(400, "ValidationException", smithy.FaultClient), true},
		{"too long (query code)", apiErr(400, "AWS.SimpleQueueService.BatchRequestTooLong", smithy.FaultClient), true},
		{"Kinesis invalid argument", apiErr(400, "InvalidArgumentException", smithy.FaultUnknown), true},
		{"413", apiErr(413, "RequestEntityTooLarge", smithy.FaultClient), true},
		{"SQS invalid message contents", apiErr(400, "InvalidMessageContents", smithy.FaultClient), true},
		{"client-side parameter validation", &smithy.OperationError{ServiceID: "SQS", OperationName: "SendMessageBatch",
			Err: &smithy.InvalidParamsError{Context: "SendMessageBatchInput"}}, true},
		// Target or credentials: right again once the configuration is.
		{"access denied", apiErr(403, "AccessDeniedException", smithy.FaultClient), false},
		{"access denied at 400", apiErr(400, "AccessDenied", smithy.FaultClient), false},
		{"expired token", apiErr(400, "ExpiredTokenException", smithy.FaultClient), false},
		{"unrecognized client", apiErr(403, "UnrecognizedClientException", smithy.FaultClient), false},
		{"no such stream", apiErr(400, "ResourceNotFoundException", smithy.FaultClient), false},
		{"no such queue", apiErr(400, "AWS.SimpleQueueService.NonExistentQueue", smithy.FaultClient), false},
		{"KMS key disabled", apiErr(400, "KMSDisabledException", smithy.FaultClient), false},
		{"KMS access denied", apiErr(400, "KMSAccessDeniedException", smithy.FaultClient), false},
		{"throttling at 400", apiErr(400, "ThrottlingException", smithy.FaultClient), false},
		{"SQS throttling (query code)", apiErr(400, "AWS.SimpleQueueService.RequestThrottled", smithy.FaultClient), false},
		{"Kinesis throughput", apiErr(400, "ProvisionedThroughputExceededException", smithy.FaultClient), false},
		{"KMS throttling", apiErr(400, "KMSThrottlingException", smithy.FaultClient), false},
		{"429", apiErr(429, "TooManyRequests", smithy.FaultClient), false},
		{"500", apiErr(500, "InternalFailure", smithy.FaultServer), false},
		{"503", apiErr(503, "ServiceUnavailable", smithy.FaultServer), false},
		{"no response", errors.New("connection reset"), false},
		{"deadline", context.DeadlineExceeded, false},
		{"already permanent", storagefirst.Permanent(errors.New("x")), true},
	} {
		got := ClassifyRequestError(c.err)
		require.ErrorIs(t, got, c.err, c.name)
		require.Equal(t, c.permanent, storagefirst.IsPermanent(got), c.name)
		require.Equal(t, !c.permanent, storagefirst.IsRetryable(got), c.name)
	}
	require.NoError(t, ClassifyRequestError(nil))

	// Only errors an entry can cause are worth splitting a request for.
	require.True(t, isolatable(apiErr(400, "ValidationException", smithy.FaultClient)))
	require.True(t, isolatable(apiErr(400, "AWS.SimpleQueueService.BatchRequestTooLong", smithy.FaultClient)))
	require.True(t, isolatable(apiErr(400, "InvalidArgumentException", smithy.FaultClient)))
	require.True(t, isolatable(apiErr(413, "RequestEntityTooLarge", smithy.FaultClient)))
	require.False(t, isolatable(apiErr(400, "AccessDeniedException", smithy.FaultClient)))
	require.False(t, isolatable(apiErr(400, "ResourceNotFoundException", smithy.FaultClient)))
}
