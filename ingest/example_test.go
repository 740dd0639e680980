package ingest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/storagefirst/storagefirst-go/ingest"
	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
)

type createOrder struct {
	Username string `json:"username"`
}

func ExampleFrontDoor() {
	queue := sftest.NewMemoryQueue(nil) // in production: pgstore, or an AWS sink
	door, err := ingest.NewFrontDoor[createOrder](ingest.FrontDoorConfig{
		Sink:        queue,
		Type:        "pizza.order.create",
		Idempotency: sftest.NewMemoryIdempotencyStore(nil),
	})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(door)
	defer srv.Close()

	post := func(body string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/orders", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "order-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	fmt.Println(post(`{"username":"lee"}`)) // persisted, then acknowledged
	fmt.Println(post(`{"username":"lee"}`)) // a client retry: the same answer, nothing persisted
	fmt.Println(post(`{"username":"bob"}`)) // the key reused for another request
	fmt.Println(len(queue.Envelopes()))

	queue.FailNextPuts(1, fmt.Errorf("database is down"))
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/orders", strings.NewReader(`{"username":"amy"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, _ := http.DefaultClient.Do(req)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Retry-After")) // never a success
	// Output:
	// 202
	// 202
	// 422
	// 1
	// 503 1
}

func ExampleHandlerFor() {
	h := ingest.HandlerFor(ingest.DecodeConfig{}, func(ctx context.Context, ev ingest.Event[createOrder]) error {
		fmt.Println("create an order for", ev.Data.Username)
		return nil
	})
	env, _ := storagefirst.NewEnvelope("pizza.order.create", []byte(`{"username":"lee"}`))
	_ = h.Handle(context.Background(), env)
	env.Payload = []byte(`{"user":"lee"}`)
	err := h.Handle(context.Background(), env)
	fmt.Println(storagefirst.IsPermanent(err))
	// Output:
	// create an order for lee
	// true
}
