package awslambda_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/workflow"
	"github.com/storagefirst/storagefirst-go/workflow/awslambda"
)

// runtimeChildEnv makes the test binary, run again, a Lambda function: it calls
// lambda.Start with the handler the variable names.
const runtimeChildEnv = "AWSLAMBDA_TEST_RUNTIME_CHILD"

// TestMain runs the test binary as a Lambda function under the real aws-lambda-go
// runtime loop when runtimeChildEnv is set.
func TestMain(m *testing.M) {
	if which := os.Getenv(runtimeChildEnv); which != "" {
		lambda.Start(runtimeHandlers[which])
		return // lambda.Start exits; not reached
	}
	os.Exit(m.Run())
}

type orderIn struct{ Username string }

var runtimeHandlers = map[string]any{
	"named": awslambda.Task(func(_ context.Context, in orderIn) (map[string]string, error) {
		return nil, workflow.Errorf("OrderNotFound", "no order for %s", in.Username)
	}),
	"plain": awslambda.Task(func(context.Context, orderIn) (map[string]string, error) {
		return nil, errors.New("disk on fire")
	}),
	"reserved": awslambda.Task(func(context.Context, orderIn) (map[string]string, error) {
		return nil, workflow.Errorf(workflow.ErrorTimeout, "not mine to say")
	}),
	"pointer": awslambda.Task(func(context.Context, orderIn) (map[string]string, error) {
		return nil, fmt.Errorf("wrapped: %w", &messages.InvokeResponse_Error{Type: "Custom.Pointer", Message: "p"})
	}),
	"value": awslambda.Task(func(context.Context, orderIn) (map[string]string, error) {
		return nil, fmt.Errorf("wrapped: %w", messages.InvokeResponse_Error{Type: "Custom.Value", Message: "v"})
	}),
}

// fakeRuntimeAPI is the Lambda Runtime API (2018-06-01): it hands out one
// invocation, records what the function posts back, and then answers /next with
// 500, which makes the runtime exit.
type fakeRuntimeAPI struct {
	mu     sync.Mutex
	served bool
	path   string
	body   []byte
	posted chan struct{}
}

func (f *fakeRuntimeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const prefix = "/2018-06-01/runtime/invocation/"
	switch {
	case r.Method == http.MethodGet && r.URL.Path == prefix+"next":
		f.mu.Lock()
		first := !f.served
		f.served = true
		f.mu.Unlock()
		if !first {
			http.Error(w, "no more invocations", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Lambda-Runtime-Aws-Request-Id", "req-1")
		w.Header().Set("Lambda-Runtime-Deadline-Ms", fmt.Sprint(time.Now().Add(time.Minute).UnixMilli()))
		_, _ = w.Write([]byte(`{"Username":"ghost"}`))
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, prefix+"req-1/"):
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.path, f.body = strings.TrimPrefix(r.URL.Path, prefix+"req-1"), b
		f.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		close(f.posted)
	default:
		http.NotFound(w, r)
	}
}

// TestTaskErrorTypeThroughTheRuntime runs each handler under lambda.Start against
// a fake Runtime API and checks the errorType the runtime posts: what Step
// Functions' Retry and Catch match.
func TestTaskErrorTypeThroughTheRuntime(t *testing.T) {
	t.Parallel()
	for which, want := range map[string]struct{ typ, msg string }{
		"named":    {"OrderNotFound", "no order for ghost"},
		"plain":    {"errorString", "disk on fire"},
		"reserved": {"NamedError", "not mine to say"},
		"pointer":  {"Custom.Pointer", "p"},
		"value":    {"Custom.Value", "v"},
	} {
		t.Run(which, func(t *testing.T) {
			t.Parallel()
			api := &fakeRuntimeAPI{posted: make(chan struct{})}
			srv := httptest.NewServer(api)
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), runtimeChildEnv+"="+which,
				"AWS_LAMBDA_RUNTIME_API="+strings.TrimPrefix(srv.URL, "http://"))
			require.NoError(t, cmd.Start())
			select {
			case <-api.posted:
			case <-ctx.Done():
				t.Fatal("the function posted no result")
			}
			_ = cmd.Wait() // it exits once /next fails
			api.mu.Lock()
			defer api.mu.Unlock()
			require.Equal(t, "/error", api.path)
			var got struct {
				ErrorType    string `json:"errorType"`
				ErrorMessage string `json:"errorMessage"`
			}
			require.NoError(t, json.Unmarshal(api.body, &got), string(api.body))
			require.Equal(t, want.typ, got.ErrorType)
			require.Equal(t, want.msg, got.ErrorMessage)
		})
	}
}
