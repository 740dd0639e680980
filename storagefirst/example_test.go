package storagefirst_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
)

func ExampleNewEnvelope() {
	env, err := storagefirst.NewEnvelope("pizza.order.create", []byte(`{ "username": "lee" }`))
	if err != nil {
		panic(err)
	}
	env.Source = "com.lee.pizza"
	env.IdempotencyKey = "client-key-1"

	fmt.Println(env.Type, string(env.Payload), env.Key())
	fmt.Println(env.CheckSize(storagefirst.DefaultMaxEnvelopeSize) == nil)

	b, _ := json.Marshal(env)
	var back storagefirst.Envelope
	_ = json.Unmarshal(b, &back)
	fmt.Println(back.ID == env.ID, back.AcceptedAt.Equal(env.AcceptedAt))
	// Output:
	// pizza.order.create {"username":"lee"} client-key-1
	// true
	// true true
}

func ExampleSink() {
	ctx := context.Background()
	sink := sftest.NewMemoryQueue(nil) // any Sink: pgstore, an EventBridge or SQS sink...
	a, _ := storagefirst.NewEnvelope("order", []byte(`{"n":1}`))
	b, _ := storagefirst.NewEnvelope("order", []byte(`{"n":2}`))

	// Make the second envelope fail: Put reports exactly which ones were not stored.
	sink.FailPutsWhere(func(e storagefirst.Envelope) error {
		if e.ID == b.ID {
			return errors.New("throttled")
		}
		return nil
	})
	err := sink.Put(ctx, a, b)
	var pe *storagefirst.PutError
	if errors.As(err, &pe) {
		fmt.Println("not stored:", len(pe.Failed), "of", pe.Total, "- partial:", pe.Partial())
	}
	// Never acknowledge: retry the failed ones (a repeated ID is not stored twice).
	sink.FailPutsWhere(nil)
	fmt.Println(sink.Put(ctx, a, b), len(sink.Envelopes()))
	// Output:
	// not stored: 1 of 2 - partial: true
	// <nil> 2
}

func ExampleIdempotent() {
	ctx := context.Background()
	store := sftest.NewMemoryIdempotencyStore(nil) // or pgstore's IdempotencyStore
	orders := 0
	createOrder := storagefirst.HandlerFunc(func(ctx context.Context, env storagefirst.Envelope) error {
		orders++
		return nil
	})
	exactlyOnce, err := storagefirst.Idempotent(storagefirst.IdempotentConfig{Store: store, Scope: "create-order"})
	if err != nil {
		log.Fatal(err)
	}
	h := storagefirst.Chain(createOrder, exactlyOnce)

	env, _ := storagefirst.NewEnvelope("order", []byte(`{"username":"lee"}`))
	for range 3 { // at-least-once delivery: the same envelope three times
		_ = h.Handle(ctx, env)
	}
	fmt.Println("orders created:", orders)
	// Output: orders created: 1
}

func ExampleRetryPolicy() {
	// The reference system's cancel task: 2 s, 6 attempts, backoff rate 2.
	p := storagefirst.RetryPolicy{Interval: 2 * time.Second, MaxRetries: 6, BackoffRate: 2, MaxDelay: 30 * time.Second}
	var waits []time.Duration
	for n := 1; n <= p.Retries(); n++ {
		waits = append(waits, p.BaseDelay(n))
	}
	fmt.Println(waits)

	// The same policy drives github.com/cenkalti/backoff/v4.
	calls := 0
	fast := storagefirst.RetryPolicy{Interval: time.Millisecond, MaxRetries: 2}
	err := backoff.Retry(func() error { calls++; return errors.New("flaky") }, fast.BackOff())
	fmt.Println(calls, err)
	// Output:
	// [2s 4s 8s 16s 30s 30s]
	// 3 flaky
}

func ExampleConsumer() {
	q := sftest.NewMemoryQueue(nil) // or a pgstore queue
	done := make(chan struct{})
	c, err := storagefirst.NewConsumer(storagefirst.ConsumerConfig{
		Queue:   q,
		Workers: 4,
		Retry:   storagefirst.RetryPolicy{Interval: 10 * time.Millisecond, MaxRetries: 2},
		Handler: storagefirst.HandlerFunc(func(ctx context.Context, env storagefirst.Envelope) error {
			fmt.Printf("handled %s (attempt %d)\n", env.Type, env.Attempt)
			close(done)
			return nil
		}),
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	finished := make(chan error)
	go func() { finished <- c.Run(ctx) }()

	env, _ := storagefirst.NewEnvelope("order", []byte(`{}`))
	_ = q.Put(ctx, env) // the front door persists; the consumer processes later
	<-done
	stop() // graceful: in-flight work finishes or is released
	fmt.Println(<-finished)
	// Output:
	// handled order (attempt 1)
	// <nil>
}
