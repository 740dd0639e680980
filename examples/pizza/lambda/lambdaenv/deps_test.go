package lambdaenv_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Each Lambda function links only what it uses: none runs the console, the
// OpenTelemetry instrumentation, httptest or an SQS, Step Functions or
// EventBridge client (API Gateway and Step Functions call them; the shop's
// operator wiring lives in package operator, which no function imports).
func TestFunctionsLinkOnlyWhatTheyUse(t *testing.T) {
	forbidden := []string{
		"github.com/storagefirst/storagefirst-go/console",
		"github.com/storagefirst/storagefirst-go/storagefirst/sfotel",
		"github.com/storagefirst/storagefirst-go/examples/pizza/shop/operator",
		"go.opentelemetry.io/",
		"net/http/httptest",
		"github.com/aws/aws-sdk-go-v2/service/sqs",
		"github.com/aws/aws-sdk-go-v2/service/sfn",
		"github.com/aws/aws-sdk-go-v2/service/eventbridge",
	}
	for _, fn := range []string{"create-order", "cancel-order", "list-orders", "migrate"} {
		t.Run(fn, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", "../"+fn).CombinedOutput()
			require.NoError(t, err, string(out))
			deps := strings.Fields(string(out))
			require.Contains(t, deps, "github.com/aws/aws-lambda-go/lambda")
			for _, dep := range deps {
				for _, f := range forbidden {
					require.False(t, dep == f || strings.HasPrefix(dep, strings.TrimSuffix(f, "/")+"/"),
						"%s links %s", fn, dep)
				}
			}
		})
	}
}
