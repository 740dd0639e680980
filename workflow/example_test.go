package workflow_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
	"github.com/storagefirst/storagefirst-go/workflow"
)

// greet is the task of the examples: it greets a name, and fails with a named
// error (which Catch and the HTTP front door route on) for an empty one.
func greet(_ context.Context, in struct{ Name string }) (string, error) {
	if in.Name == "" {
		return "", workflow.Errorf("NameMissing", "give a name")
	}
	return "hello, " + in.Name, nil
}

// greeter defines a workflow: a Go task whose result goes to $.greeting, retried
// on a transient error, with a named failure routed to a Fail state.
func greeter() workflow.Definition {
	return workflow.Definition{
		StartAt: "Greet",
		Timeout: 10 * time.Second,
		States: map[string]workflow.State{
			"Greet": workflow.Task{Run: workflow.Func(greet), Timeout: 2 * time.Second, ResultPath: "$.greeting",
				Retry: []workflow.Retrier{{ErrorEquals: []string{"Transient"}, IntervalSeconds: 1, MaxRetries: 2}},
				Catch: []workflow.Catcher{{ErrorEquals: []string{"NameMissing"}, Next: "Rejected"}},
				End:   true},
			"Rejected": workflow.Fail{Error: "NameMissing", Cause: "the request has no name"},
		},
	}
}

// Defining a workflow: New checks it whole, including that the retry schedule
// fits the execution's timeout.
func ExampleNew() {
	wf, err := workflow.New("greeter", greeter())
	fmt.Println(wf.Name, err)

	slow := greeter()
	slow.Timeout = 5 * time.Second // 3 attempts of 2 s + 1 + 2 s of waits do not fit
	_, err = workflow.New("greeter", slow)
	fmt.Println(errors.Is(err, workflow.ErrInvalidDefinition))
	// Output:
	// greeter <nil>
	// true
}

// Running a workflow on the local engine: the execution is stored before its
// first state runs; a FAILED one comes back as an error too.
func ExampleEngine_StartSync() {
	ctx := context.Background()
	wf, _ := workflow.New("greeter", greeter())
	engine, _ := workflow.NewEngine(workflow.EngineConfig{Store: workflow.NewMemoryStore(),
		DeadLetters: sftest.NewMemoryQueue(nil)}, wf)

	res, err := engine.StartSync(ctx, wf, json.RawMessage(`{"Name":"Lee"}`))
	fmt.Println(res.Status, string(res.Output), err)

	res, err = engine.StartSync(ctx, wf, json.RawMessage(`{"Name":""}`))
	fmt.Println(res.Status, res.Error, errors.Is(err, workflow.ErrFailed))
	// Output:
	// SUCCEEDED {"Name":"Lee","greeting":"hello, Lee"} <nil>
	// FAILED NameMissing true
}

// Exporting a workflow as Amazon States Language for Step Functions: each Task
// becomes the Resource given for it, here a Lambda function running the same Go
// function through awslambda.Task.
func ExampleWorkflow_ASL() {
	wf, _ := workflow.New("greeter", greeter())
	asl, _ := wf.ASL(map[string]workflow.Resource{
		"Greet": workflow.LambdaInvoke("arn:aws:lambda:us-east-1:111122223333:function:greet"),
	})
	doc, _ := workflow.ParseASL(asl)
	greet := doc.States["Greet"]
	fmt.Println(doc.StartAt, doc.TimeoutSeconds)
	fmt.Println(greet.Resource, greet.TimeoutSeconds, string(greet.ResultPath))
	fmt.Printf("%+v\n", greet.Retry[0])
	// Output:
	// Greet 10
	// arn:aws:lambda:us-east-1:111122223333:function:greet 2 "$.greeting"
	// {ErrorEquals:[Transient] IntervalSeconds:1 MaxAttempts:2 BackoffRate:2 MaxDelaySeconds:0 JitterStrategy:}
}

// The HTTP front door: 200 with the output, a mapped status for a named failure,
// and a retried request with the same Idempotency-Key answered from the first
// execution.
func ExampleHTTPHandler() {
	wf, _ := workflow.New("greeter", greeter())
	engine, _ := workflow.NewEngine(workflow.EngineConfig{Store: workflow.NewMemoryStore(),
		DeadLetters: sftest.NewMemoryQueue(nil)}, wf)
	h, _ := workflow.NewHTTPHandler(workflow.HTTPConfig{Starter: engine.Starter(wf),
		Status: map[string]int{"NameMissing": http.StatusBadRequest}})
	srv := httptest.NewServer(h)
	defer srv.Close()

	post := func(body, key string) (int, string, string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, "", err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("X-Execution-Id"), string(b)
	}
	code, id1, body := post(`{"Name":"Lee"}`, "request-1")
	fmt.Println(code, body)
	code, id2, _ := post(`{"Name":"Lee"}`, "request-1")
	fmt.Println(code, id1 == id2)
	code, _, _ = post(`{"Name":""}`, "request-2")
	fmt.Println(code)
	// Output:
	// 200 {"Name":"Lee","greeting":"hello, Lee"}
	// 200 true
	// 400
}
