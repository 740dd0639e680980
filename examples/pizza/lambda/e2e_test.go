package lambda_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/examples/pizza/lambda"
	"github.com/storagefirst/storagefirst-go/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// rieVersion is the Lambda Runtime Interface Emulator this test runs.
const rieVersion = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d"

// function is one bootstrap served by its own emulator (it takes one invoke at a
// time).
type function struct {
	t   *testing.T
	url string
}

func (f function) invoke(event string) (json.RawMessage, error) {
	resp, err := http.Post(f.url, "application/json", strings.NewReader(event))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var lambdaErr struct{ ErrorType, ErrorMessage string }
	if json.Unmarshal(b, &lambdaErr) == nil && lambdaErr.ErrorType != "" {
		return b, fmt.Errorf("%s: %s", lambdaErr.ErrorType, lambdaErr.ErrorMessage)
	}
	return b, nil
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// buildFunctions builds every function for this machine (-tags lambda.norpc, as
// for provided.al2023) with one go build, which compiles what they share once and
// links them in parallel, into dir/<name>.
func buildFunctions(dir string) error {
	args := []string{"build", "-tags", "lambda.norpc", "-o", dir + string(filepath.Separator)}
	for _, name := range lambda.Functions {
		args = append(args, "./"+name)
	}
	build := exec.Command("go", args...)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building the functions: %w\n%s", err, out)
	}
	return nil
}

// installEmulator installs the Lambda Runtime Interface Emulator into gobin.
func installEmulator(gobin string) error {
	install := exec.Command("go", "install", rieVersion)
	install.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=-mod=mod")
	if out, err := install.CombinedOutput(); err != nil {
		return fmt.Errorf("installing the Lambda emulator: %w\n%s", err, out)
	}
	return nil
}

// serve starts the function built at bin under the emulator on 127.0.0.1.
func serve(t *testing.T, rie, bin string, env []string) function {
	t.Helper()
	name := filepath.Base(bin)
	addr := freeAddr(t)
	// Each emulator needs its own runtime API port too (the default is 9001).
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", addr, "--runtime-api-address", freeAddr(t), bin)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), env...)
	cmd.Env = append(cmd.Env, "AWS_LAMBDA_FUNCTION_NAME="+name, "AWS_LAMBDA_FUNCTION_TIMEOUT=30", "LOG_LEVEL=error")
	logs := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s logs:\n%s", name, logs.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		require.True(t, time.Now().Before(deadline), "the emulator for %s did not listen", name)
		<-time.After(20 * time.Millisecond)
	}
	return function{t: t, url: "http://" + addr + "/2015-03-31/functions/function/invocations"}
}

// TestFunctionsThroughTheRuntimeInterfaceEmulator invokes each bootstrap the way
// AWS would, with realistic events, against the local Postgres.
func TestFunctionsThroughTheRuntimeInterfaceEmulator(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the functions and the emulator: not in -short")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the emulator runs Linux bootstraps")
	}
	// The emulator installs while the functions build: two go commands at once
	// rather than five one after another.
	gobin, bins := t.TempDir(), t.TempDir()
	installed := make(chan error, 1)
	go func() { installed <- installEmulator(gobin) }()
	require.NoError(t, buildFunctions(bins))
	if err := <-installed; err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	rie := filepath.Join(gobin, "aws-lambda-rie")
	fn := func(name string) string { return filepath.Join(bins, name) }

	url, schema := pgtest.NewSchema(t)
	env := []string{"PIZZA_DATABASE_URL=" + url, "PIZZA_SCHEMA=" + schema, "PIZZA_DB_POOLED=true",
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKIDFAKE", "AWS_SECRET_ACCESS_KEY=secret"}
	ctx := context.Background()

	// Deploy time: the custom resource applies the migrations.
	migrate := serve(t, rie, fn("migrate"), env)
	out, err := migrate.invoke(`{"RequestType":"Create","ResourceType":"Custom::Migrations","LogicalResourceId":"Migrations"}`)
	require.NoError(t, err)
	require.Contains(t, string(out), `"PhysicalResourceId":"pizza-migrations"`)

	// POST /orders, as API Gateway's direct integration puts it on the bus and the
	// rule delivers it: the detail carries the order id, the request's time, its
	// Idempotency-Key and the body (lambdaenv.CreateOrderDetail).
	create := serve(t, rie, fn("create-order"), env)
	const orderID = "1764504000000-6a7e8feb-b491-4cf7-a9f1-bf3703467718"
	event := func(eventID string) string {
		return `{"version":"0","id":"` + eventID + `","detail-type":"CreateOrder","source":"com.lee.pizza",` +
			`"account":"111122223333","time":"2026-11-30T12:00:00Z","region":"us-east-1","resources":[],` +
			`"detail":{"id":"` + orderID + `","requested_at_ms":1764504000000,"request_id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718",` +
			`"idempotency_key":"lee-1","order":{"username":"lee"}}}`
	}
	_, err = create.invoke(event("ev-1"))
	require.NoError(t, err)
	_, err = create.invoke(event("ev-1")) // Lambda delivers asynchronous events at least once
	require.NoError(t, err)
	retry := strings.ReplaceAll(strings.ReplaceAll(event("ev-2"), "1764504000000", "1764504003000"), "6a7e8feb-b491", "7b7e8feb-b491")
	_, err = create.invoke(retry) // the client's retry with the same Idempotency-Key
	require.NoError(t, err)
	pool, err := pgxpool.New(ctx, url)
	require.NoError(t, err)
	defer pool.Close()
	var n int
	var status string
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*), min(status) FROM `+schema+`.orders WHERE username = 'lee'`).Scan(&n, &status))
	require.Equal(t, 1, n, "one order, however often the event came")
	require.Equal(t, "created", status)
	_, err = create.invoke(`{"version":"0","id":"e2","detail-type":"CreateOrder","source":"com.lee.pizza","detail":{"username":""}}`)
	require.Error(t, err, "bad input fails, for the on-failure destination")

	// GET /orders through API Gateway's proxy integration.
	list := serve(t, rie, fn("list-orders"), env)
	out, err = list.invoke(`{"resource":"/orders","path":"/orders","httpMethod":"GET","headers":{"Accept":"application/json"},` +
		`"queryStringParameters":{"limit":"10"},"requestContext":{"stage":"prod"},"body":null,"isBase64Encoded":false}`)
	require.NoError(t, err)
	var resp struct {
		StatusCode int
		Body       string
	}
	require.NoError(t, json.Unmarshal(out, &resp))
	require.Equal(t, 200, resp.StatusCode)
	require.Contains(t, resp.Body, `"id":"`+orderID+`"`)

	// PUT /orders: the Step Functions task input of the cancel workflow.
	cancel := serve(t, rie, fn("cancel-order"), env)
	out, err = cancel.invoke(`{"actionType":"cancel","body":{"username":"lee"}}`)
	require.NoError(t, err)
	require.Contains(t, string(out), `"status":"cancelled"`)
	_, err = cancel.invoke(`{"actionType":"cancel","body":{"username":"lee"}}`)
	require.ErrorContains(t, err, "OrderNotCancellable", "the error type the state machine's Catch matches")
	_, err = cancel.invoke(`{"actionType":"cancel","body":{"username":"nobody"}}`)
	require.ErrorContains(t, err, "OrderNotFound")
}
