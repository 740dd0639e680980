package awsput

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// extraRetryableCodes are service error codes worth resending that the SDK's own
// lists (retry.DefaultThrottleErrorCodes, retry.DefaultRetryableErrorCodes) lack.
var extraRetryableCodes = map[string]bool{
	"InternalFailure": true, "InternalError": true, "ServiceUnavailable": true,
	"KMSThrottlingException": true,
}

// ClassifyRequestError classifies the error of a whole request (after the SDK's own
// retries): throttling codes, HTTP 429 and 5xx, and errors without a response
// (network, timeout) are retryable; any other 4xx (validation, size, access) is
// permanent, since sending the same request again gets the same answer. An error
// already marked storagefirst.Permanent stays permanent.
func ClassifyRequestError(err error) error {
	if err == nil {
		return nil
	}
	if storagefirst.IsPermanent(err) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return storagefirst.Retryable(err)
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code := strings.TrimPrefix(ae.ErrorCode(), "AWS.SimpleQueueService.")
		if _, ok := retry.DefaultThrottleErrorCodes[code]; ok || extraRetryableCodes[code] {
			return storagefirst.Retryable(err)
		}
		if _, ok := retry.DefaultRetryableErrorCodes[code]; ok {
			return storagefirst.Retryable(err)
		}
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		switch status := re.HTTPStatusCode(); {
		case status == http.StatusTooManyRequests || status >= 500:
			return storagefirst.Retryable(err)
		case status >= 400:
			return storagefirst.Permanent(err)
		}
	}
	if ae != nil && ae.ErrorFault() == smithy.FaultClient {
		return storagefirst.Permanent(err)
	}
	return storagefirst.Retryable(err)
}

// isolatable reports whether a permanent whole-request error may be the fault of
// one entry (a validation or size error, HTTP 413), so that splitting the
// request finds it; an error about the request's target or credentials (access
// denied, no such stream) fails every entry alike and is not worth splitting for.
func isolatable(err error) bool {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusRequestEntityTooLarge {
		return true
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	code := ae.ErrorCode()
	for _, s := range []string{"Validation", "InvalidArgument", "InvalidParameter", "TooLong", "TooLarge", "Malformed", "Serialization", "InvalidMessageContents"} {
		if strings.Contains(code, s) {
			return true
		}
	}
	return false
}
