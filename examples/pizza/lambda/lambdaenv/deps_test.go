package lambdaenv_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	pizzalambda "github.com/storagefirst/storagefirst-go/examples/pizza/lambda"
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
	for _, fn := range pizzalambda.Functions {
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

// TestFunctionsLinkNoQueueCode: a package a function imports can still bring
// code it never runs; the linker keeps only what is reachable, so the symbols
// tell. No function runs a pgstore.Store (its group commits, LISTEN, queues):
// create-order keeps its idempotency records with pgstore.NewIdempotencyStore,
// migrate migrates with pgstore.Migrate. Only migrate reads the database secret,
// and only create-order keeps idempotency records.
func TestFunctionsLinkNoQueueCode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the four functions: not in -short")
	}
	dir := t.TempDir()
	args := []string{"build", "-tags", "lambda.norpc", "-o", dir + string(filepath.Separator)}
	for _, fn := range pizzalambda.Functions {
		args = append(args, "../"+fn)
	}
	build := exec.Command("go", args...)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))
	const mod = "github.com/storagefirst/storagefirst-go/"
	for _, fn := range pizzalambda.Functions {
		t.Run(fn, func(t *testing.T) {
			out, err := exec.Command("go", "tool", "nm", filepath.Join(dir, fn)).Output()
			require.NoError(t, err)
			var syms []string
			for line := range strings.Lines(string(out)) {
				if f := strings.Fields(line); len(f) >= 3 {
					syms = append(syms, strings.Join(f[2:], " "))
				}
			}
			require.NotEmpty(t, syms)
			forbidden := []string{mod + "internal/batch.", mod + "pgstore.(*Store).", mod + "pgstore.(*Queue).",
				mod + "pgstore.(*listener).", mod + "pgstore.(*notifier)."}
			if fn != "migrate" {
				forbidden = append(forbidden, mod+"examples/pizza/lambda/lambdaenv.SecretPassword")
			}
			if fn != "create-order" {
				forbidden = append(forbidden, mod+"pgstore.(*IdempotencyStore).")
			}
			for _, s := range syms {
				require.NotEqual(t, mod+"pgstore.New", s, "%s links pgstore.New", fn)
				for _, f := range forbidden {
					require.False(t, strings.HasPrefix(s, f), "%s links %s", fn, s)
				}
			}
		})
	}
}
