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
// retries). Permanent are only the refusals the request's entries cause, which
// sending the same request again gets again: a 4xx with a validation, size or
// malformed-input code (see isolatable), HTTP 413, and the SDK's own client-side
// parameter validation (*smithy.InvalidParamsError). Everything else is retryable:
// throttling, 429 and 5xx, errors without a response (network, timeout), and the
// other 4xx, which are about the request's target or credentials (access denied,
// expired token, no such stream or queue, a KMS key disabled) and pass when the
// configuration or the credentials are put right, so that a credentials blip or a
// deploy's ordering delays envelopes instead of dead-lettering them. An error
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
	var ipe *smithy.InvalidParamsError
	if errors.As(err, &ipe) {
		return storagefirst.Permanent(err)
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
		if status := re.HTTPStatusCode(); status == http.StatusTooManyRequests || status >= 500 {
			return storagefirst.Retryable(err)
		}
	}
	if isolatable(err) {
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
