package integration_test

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	dlqsqs "github.com/storagefirst/storagefirst-go/dlq/sqs"
	"github.com/storagefirst/storagefirst-go/internal/integration/goawstest"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// buildCLI compiles the real storagefirst command in the library's module (its
// go.mod, not this one's, governs the build).
func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "storagefirst")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/storagefirst")
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	return bin
}

// TestDLQSessionSQS lists and replays an SQS dead-letter queue (goaws) into
// another queue.
func TestDLQSessionSQS(t *testing.T) {
	t.Parallel()
	bin := buildCLI(t)
	client := goawstest.Client(t)
	dlqURL := goawstest.NewQueue(t, client, "", map[string]string{"VisibilityTimeout": "1"})
	target := goawstest.NewQueue(t, client, "", nil)
	ctx := context.Background()
	env, err := storagefirst.NewEnvelope("CreateOrder", []byte(`{"username":"lee"}`))
	require.NoError(t, err)
	dest := dlqsqs.Destination{Client: client, QueueURL: dlqURL}
	require.NoError(t, dest.SendDeadLetter(ctx, storagefirst.DeadLetter{Envelope: env,
		Failures: []storagefirst.Failure{{Attempt: 1, Class: "permanent", Error: "bad order", At: time.Now()}}}))

	sqsArgs := []string{"-sqs-url", dlqURL, "-endpoint-url", goawstest.Endpoint(t), "-sqs-protocol", "query", "-region", "us-east-1"}
	run := func(code int, a ...string) string {
		cmd := exec.Command(bin, append(a, sqsArgs...)...)
		cmd.Env = append(cmd.Environ(), "AWS_ACCESS_KEY_ID=AKIDFAKE", "AWS_SECRET_ACCESS_KEY=secret", "AWS_EC2_METADATA_DISABLED=true")
		out, err := cmd.CombinedOutput()
		got := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			got = ee.ExitCode()
		}
		require.Equal(t, code, got, string(out))
		return string(out)
	}
	// goaws now and then cuts a ReceiveMessage answer short: list until the
	// message shows, within a deadline, rather than failing on one empty answer.
	var out string
	for listDeadline := time.Now().Add(20 * time.Second); ; <-time.After(200 * time.Millisecond) {
		out = run(0, "dlq", "list")
		if strings.Contains(out, env.ID) || time.Now().After(listDeadline) {
			break
		}
	}
	require.Contains(t, out, env.ID)
	require.Contains(t, out, "permanent: bad order")
	require.Contains(t, run(2, "dlq", "replay"), "needs a target")
	// The listing hid the message for the queue's visibility timeout.
	deadline := time.Now().Add(10 * time.Second)
	for {
		out = run(0, "dlq", "replay", "-to-sqs-url", target)
		if strings.Contains(out, "replayed 1") || time.Now().After(deadline) {
			break
		}
		<-time.After(200 * time.Millisecond)
	}
	require.Contains(t, out, "replayed 1, skipped 0, failed 0")
}
