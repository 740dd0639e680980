package pgstore_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storagefirst/storagefirst-go/internal/pgtest"
	"github.com/storagefirst/storagefirst-go/pgstore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// exampleDatabase is a pool on the test server and a fresh schema for one
// example; done closes the pool and drops the schema.
func exampleDatabase() (pool *pgxpool.Pool, schema string, done func()) {
	url, schema, drop := pgtest.ExampleSchema()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		log.Fatal(err)
	}
	return pool, schema, func() { pool.Close(); drop() }
}

// A queue and its consumer in Postgres: Put commits before it returns (a front
// door then acknowledges), and the handler writes its effect and records the
// idempotency key in one transaction, which also acknowledges the delivery.
func ExampleNew() {
	ctx := context.Background()
	pool, schema, done := exampleDatabase()
	defer done()

	store, err := pgstore.New(pool, pgstore.Config{Schema: schema})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	if _, err := store.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	orders := pgx.Identifier{schema, "orders"}.Sanitize()
	if _, err := pool.Exec(ctx, "CREATE TABLE "+orders+" (id text PRIMARY KEY, body jsonb NOT NULL)"); err != nil {
		log.Fatal(err)
	}
	queue, err := store.Queue("create-order")
	if err != nil {
		log.Fatal(err)
	}

	env, err := storagefirst.NewEnvelope("order.create", []byte(`{"username":"lee"}`))
	if err != nil {
		log.Fatal(err)
	}
	env.IdempotencyKey = "client-key-1"
	if err := queue.Put(ctx, env); err != nil { // durable when it returns: acknowledge now
		log.Fatal(err)
	}

	idem := store.Idempotency()
	exactlyOnce, err := storagefirst.Idempotent(storagefirst.IdempotentConfig{Store: idem, Scope: "create-order"})
	if err != nil {
		log.Fatal(err)
	}
	createOrder := storagefirst.HandlerFunc(func(ctx context.Context, env storagefirst.Envelope) error {
		return store.WriteTx(ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "INSERT INTO "+orders+" (id, body) VALUES ($1, $2)", env.Key(), env.Payload); err != nil {
				return err
			}
			return idem.CompleteFromContext(ctx, tx) // the record and the ack, in tx
		})
	})
	runCtx, stop := context.WithCancel(ctx)
	consumer, err := storagefirst.NewConsumer(storagefirst.ConsumerConfig{
		Queue:   queue,
		Handler: storagefirst.Chain(createOrder, exactlyOnce),
		Logger:  slog.New(slog.DiscardHandler),
		OnProcessed: func(_ context.Context, p storagefirst.Processed) {
			fmt.Println(p.Envelope.Type, p.Action)
			stop() // one envelope to handle here; a service runs until it shuts down
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := consumer.Run(runCtx); err != nil {
		log.Fatal(err)
	}

	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+orders).Scan(&n); err != nil {
		log.Fatal(err)
	}
	st, err := queue.Stats(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("orders:", n, "ready:", st.Ready, "in flight:", st.InFlight)
	// Output:
	// order.create acked
	// orders: 1 ready: 0 in flight: 0
}

// An idempotency store alone, for a Lambda function whose events come from
// EventBridge (at least once): the handler's effect and the record of its key
// commit together, and a repeat is skipped. A deploy step migrates the schema.
func ExampleNewIdempotencyStore() {
	ctx := context.Background()
	pool, schema, done := exampleDatabase()
	defer done()
	if _, err := pgstore.Migrate(ctx, pool, schema); err != nil { // at deploy time
		log.Fatal(err)
	}
	orders := pgx.Identifier{schema, "orders"}.Sanitize()
	if _, err := pool.Exec(ctx, "CREATE TABLE "+orders+" (id text PRIMARY KEY)"); err != nil {
		log.Fatal(err)
	}

	// Once per container:
	idem, err := pgstore.NewIdempotencyStore(pool, pgstore.Config{Schema: schema})
	if err != nil {
		log.Fatal(err)
	}
	exactlyOnce, err := storagefirst.Idempotent(storagefirst.IdempotentConfig{Store: idem, Scope: "create-order"})
	if err != nil {
		log.Fatal(err)
	}
	handler := storagefirst.Chain(storagefirst.HandlerFunc(func(ctx context.Context, env storagefirst.Envelope) error {
		return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "INSERT INTO "+orders+" (id) VALUES ($1)", env.Key()); err != nil {
				return err
			}
			return idem.CompleteFromContext(ctx, tx)
		})
	}), exactlyOnce)

	// Per event (the envelope built from it):
	env, err := storagefirst.NewEnvelope("order.create", []byte(`{"username":"lee"}`))
	if err != nil {
		log.Fatal(err)
	}
	env.IdempotencyKey = "client-key-1"
	for _, delivery := range []string{"first", "again"} { // EventBridge delivers at least once
		err := handler.Handle(ctx, env)
		var n int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+orders).Scan(&n); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s delivery: error %v, orders %d\n", delivery, err, n)
	}
	rec, err := idem.Get(ctx, "create-order", env.Key())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("key", rec.Key, rec.State)
	// Output:
	// first delivery: error <nil>, orders 1
	// again delivery: error <nil>, orders 1
	// key client-key-1 completed
}
