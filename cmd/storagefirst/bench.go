package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storagefirst/storagefirst-go/pgstore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// benchDatabaseURLDefault is the local server the tests use too.
const benchDatabaseURLDefault = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// benchConfig is what the bench flags set.
type benchConfig struct {
	out         io.Writer
	url         string
	duration    time.Duration
	e2eDuration time.Duration
	consumeN    int
	cases       string
	text        bool
	batches     int
}

// bench is the bench command: it parses the flags and runs the cases.
func bench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := benchConfig{out: stdout}
	fs := newFlagSet("bench", stderr)
	fs.StringVar(&c.url, "database-url", envOr("STORAGEFIRST_DATABASE_URL", envOr("STORAGEFIRST_TEST_DATABASE_URL", benchDatabaseURLDefault)),
		"Postgres URL (default $STORAGEFIRST_DATABASE_URL, else $STORAGEFIRST_TEST_DATABASE_URL, else the local server)")
	fs.DurationVar(&c.duration, "duration", 3*time.Second, "how long each put case runs")
	fs.DurationVar(&c.e2eDuration, "e2e-duration", 10*time.Second, "how long the e2e case runs")
	fs.IntVar(&c.consumeN, "consume-n", 20000, "envelopes drained by each consume case")
	fs.IntVar(&c.batches, "concurrent-batches", 0, "pgstore Config.MaxConcurrentBatches (0: its default)")
	fs.StringVar(&c.cases, "cases", "put,consume,e2e,wal", "comma-separated cases to run")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	jsonOut := fs.Bool("json", true, "print JSON lines (the default; -json=false prints text)")
	if err := parse(fs, args); err != nil {
		return err
	}
	c.text = !*jsonOut
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if err := runBench(ctx, c); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// result is one JSON line.
type result struct {
	Case          string  `json:"case"`
	Variant       string  `json:"variant,omitempty"`
	Concurrency   int     `json:"concurrency,omitempty"`
	Envelopes     int64   `json:"envelopes"`
	Seconds       float64 `json:"seconds"`
	PerSecond     float64 `json:"per_second"`
	P50Millis     float64 `json:"p50_ms,omitempty"`
	P99Millis     float64 `json:"p99_ms,omitempty"`
	BatchAvg      float64 `json:"avg_batch,omitempty"`
	WALBytesPer   float64 `json:"wal_bytes_per_envelope,omitempty"`
	WALBaseline   float64 `json:"wal_bytes_per_bare_row,omitempty"`
	WALRatio      float64 `json:"wal_ratio,omitempty"`
	SynchronousCo string  `json:"synchronous_commit,omitempty"`
}

func (c benchConfig) print(r result) {
	if c.text {
		fmt.Fprintf(c.out, "%-8s %-12s c=%-3d n=%-7d %9.0f/s p50=%6.2fms p99=%6.2fms batch=%5.1f wal=%.0f/%.0f (%.2fx)\n",
			r.Case, r.Variant, r.Concurrency, r.Envelopes, r.PerSecond, r.P50Millis, r.P99Millis, r.BatchAvg,
			r.WALBytesPer, r.WALBaseline, r.WALRatio)
		return
	}
	b, _ := json.Marshal(r)
	fmt.Fprintln(c.out, string(b))
}

// env is a bench envelope with a ~300-byte payload.
func env() storagefirst.Envelope {
	payload := fmt.Sprintf(`{"username":"user-%s","items":[{"pizza":"margherita","size":"large","extras":["basil","olive oil"]},{"pizza":"diavola","size":"medium","extras":["chili"]}],"address":"1 Example Street, Springfield","note":"%s"}`,
		rnd(4), strings.Repeat("x", 60))
	e, err := storagefirst.NewEnvelope("pizza.order.create", []byte(payload))
	if err != nil {
		panic(err)
	}
	e.Source = "bench"
	return e
}

func rnd(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// harness is one schema with a migrated store.
type harness struct {
	pool   *pgxpool.Pool
	store  *pgstore.Store
	schema string
}

func newHarness(ctx context.Context, c benchConfig) (*harness, error) {
	url := c.url
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = 32
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	schema := "bench_" + rnd(4)
	s, err := pgstore.New(pool, pgstore.Config{Schema: schema, MaxConcurrentBatches: c.batches, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		pool.Close()
		return nil, err
	}
	if _, err := s.Migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return &harness{pool: pool, store: s, schema: schema}, nil
}

func (h *harness) close() {
	h.store.Close()
	_, _ = h.pool.Exec(context.Background(), "DROP SCHEMA "+h.schema+" CASCADE")
	h.pool.Close()
}

func runBench(ctx context.Context, c benchConfig) error {
	for _, name := range strings.Split(c.cases, ",") {
		var err error
		switch strings.TrimSpace(name) {
		case "put":
			err = benchPut(ctx, c)
		case "consume":
			err = benchConsume(ctx, c)
		case "e2e":
			err = benchE2E(ctx, c)
		case "wal":
			err = benchWAL(ctx, c)
		default:
			err = fmt.Errorf("unknown case %q", name)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func percentile(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(float64(len(ds)-1) * p)
	return float64(ds[i]) / float64(time.Millisecond)
}

// benchPut runs group-commit Put and the naive baseline side by side, alternating,
// at each concurrency.
func benchPut(ctx context.Context, c benchConfig) error {
	h, err := newHarness(ctx, c)
	if err != nil {
		return err
	}
	defer h.close()
	var sc string
	_ = h.pool.QueryRow(ctx, "SHOW synchronous_commit").Scan(&sc)
	q, err := h.store.Queue("bench")
	if err != nil {
		return err
	}
	if _, err := h.pool.Exec(ctx, "CREATE TABLE "+h.schema+".naive (LIKE "+h.schema+".envelopes INCLUDING ALL)"); err != nil {
		return err
	}
	naiveSQL := "INSERT INTO " + h.schema + `.naive (queue, id, type, source, accepted_at, idempotency_key, correlation_id, metadata, payload)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (queue, id) DO NOTHING`
	naive := func(ctx context.Context, e storagefirst.Envelope) error {
		_, err := h.pool.Exec(ctx, naiveSQL, "bench", e.ID, e.Type, e.Source, e.AcceptedAt, e.IdempotencyKey, e.CorrelationID, nil, string(e.Payload))
		return err
	}
	group := func(ctx context.Context, e storagefirst.Envelope) error { return q.Put(ctx, e) }
	for _, conc := range []int{1, 16, 64} {
		for _, v := range []struct {
			name string
			put  func(context.Context, storagefirst.Envelope) error
		}{{"naive", naive}, {"group_commit", group}} {
			before := h.store.BatchStats()
			n, lat, secs, err := drive(ctx, conc, c.duration, v.put)
			if err != nil {
				return err
			}
			r := result{Case: "put", Variant: v.name, Concurrency: conc, Envelopes: n, Seconds: secs,
				PerSecond: float64(n) / secs, P50Millis: percentile(lat, 0.5), P99Millis: percentile(lat, 0.99), SynchronousCo: sc}
			if v.name == "group_commit" {
				after := h.store.BatchStats()
				r.BatchAvg = float64(after.PutEnvelopes-before.PutEnvelopes) / float64(max(after.PutBatches-before.PutBatches, 1))
			}
			c.print(r)
		}
	}
	return nil
}

// drive calls put from conc goroutines for d and returns the count and latencies.
func drive(ctx context.Context, conc int, d time.Duration, put func(context.Context, storagefirst.Envelope) error) (int64, []time.Duration, float64, error) {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		all      []time.Duration
		firstErr error
		n        atomic.Int64
	)
	start := time.Now()
	deadline := start.Add(d)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			for time.Now().Before(deadline) {
				e := env()
				t0 := time.Now()
				if err := put(ctx, e); err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				lat = append(lat, time.Since(t0))
				n.Add(1)
			}
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return n.Load(), all, time.Since(start).Seconds(), firstErr
}

func fill(ctx context.Context, q *pgstore.Queue, n int) error {
	const chunk = 1000
	for i := 0; i < n; i += chunk {
		es := make([]storagefirst.Envelope, min(chunk, n-i))
		for j := range es {
			es[j] = env()
		}
		if err := q.Put(ctx, es...); err != nil {
			return err
		}
	}
	return nil
}

func benchConsume(ctx context.Context, c benchConfig) error {
	for _, variant := range []string{"noop", "idempotent_tx", "idempotent_batch"} {
		h, err := newHarness(ctx, c)
		if err != nil {
			return err
		}
		q, err := h.store.Queue("bench")
		if err != nil {
			h.close()
			return err
		}
		if err := fill(ctx, q, c.consumeN); err != nil {
			h.close()
			return err
		}
		var handler storagefirst.Handler = storagefirst.HandlerFunc(func(context.Context, storagefirst.Envelope) error { return nil })
		if variant != "noop" {
			if _, err := h.pool.Exec(ctx, "CREATE TABLE "+h.schema+".orders (key text PRIMARY KEY)"); err != nil {
				h.close()
				return err
			}
			idem := h.store.Idempotency()
			insert := "INSERT INTO " + h.schema + ".orders VALUES ($1)"
			// The effect (an order row) and the idempotency record commit together:
			// in an explicit transaction (CompleteTx), or in one pipelined round
			// trip (CompleteBatch).
			effect := func(ctx context.Context, e storagefirst.Envelope) error {
				return pgx.BeginFunc(ctx, h.pool, func(tx pgx.Tx) error {
					if _, err := tx.Exec(ctx, insert, e.Key()); err != nil {
						return err
					}
					return idem.CompleteFromContext(ctx, tx)
				})
			}
			if variant == "idempotent_batch" {
				effect = func(ctx context.Context, e storagefirst.Envelope) error {
					var b pgx.Batch
					b.Queue(insert, e.Key())
					return idem.CompleteBatch(ctx, h.pool, &b, storagefirst.Outcome{})
				}
			}
			idempotent, err := storagefirst.Idempotent(storagefirst.IdempotentConfig{Store: idem, Scope: "bench"})
			if err != nil {
				h.close()
				return err
			}
			handler = storagefirst.Chain(storagefirst.HandlerFunc(effect), idempotent)
		}
		var done atomic.Int64
		finished := make(chan struct{})
		target := int64(c.consumeN)
		cons, err := storagefirst.NewConsumer(storagefirst.ConsumerConfig{
			Queue: q, Handler: handler, Workers: 64, BatchSize: 64, PollInterval: 50 * time.Millisecond,
			Logger: slog.New(slog.DiscardHandler),
			OnProcessed: func(_ context.Context, p storagefirst.Processed) {
				if p.Action == storagefirst.ActionAcked && done.Add(1) == target {
					close(finished)
				}
			},
		})
		if err != nil {
			h.close()
			return err
		}
		runCtx, stop := context.WithCancel(ctx)
		start := time.Now()
		go func() { _ = cons.Run(runCtx) }()
		select {
		case <-finished:
		case <-time.After(5 * time.Minute):
			stop()
			h.close()
			return fmt.Errorf("consume %s: only %d of %d done", variant, done.Load(), target)
		}
		secs := time.Since(start).Seconds()
		stop()
		st := h.store.BatchStats()
		c.print(result{Case: "consume", Variant: variant, Concurrency: 64, Envelopes: target, Seconds: secs,
			PerSecond: float64(target) / secs, BatchAvg: float64(st.Acks) / float64(max(st.AckBatches, 1))})
		h.close()
	}
	return nil
}

func benchE2E(ctx context.Context, c benchConfig) error {
	h, err := newHarness(ctx, c)
	if err != nil {
		return err
	}
	defer h.close()
	q, err := h.store.Queue("bench")
	if err != nil {
		return err
	}
	var (
		mu      sync.Mutex
		putDone = map[string]time.Time{}
		lat     []time.Duration
	)
	cons, err := storagefirst.NewConsumer(storagefirst.ConsumerConfig{
		Queue: q, Workers: 32, PollInterval: time.Second, Logger: slog.New(slog.DiscardHandler),
		Handler: storagefirst.HandlerFunc(func(_ context.Context, e storagefirst.Envelope) error {
			now := time.Now()
			mu.Lock()
			if t, ok := putDone[e.ID]; ok {
				lat = append(lat, now.Sub(t))
			} else {
				putDone[e.ID] = now // the handler won the race with Put's return: latency 0
				lat = append(lat, 0)
			}
			mu.Unlock()
			return nil
		}),
	})
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = cons.Run(runCtx) }()

	const rate = 500
	tick := time.NewTicker(time.Second / rate)
	defer tick.Stop()
	start := time.Now()
	var wg sync.WaitGroup
	var sent int64
	for time.Since(start) < c.e2eDuration {
		<-tick.C
		e := env()
		sent++
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := q.Put(ctx, e); err != nil {
				return
			}
			now := time.Now()
			mu.Lock()
			if _, handled := putDone[e.ID]; !handled {
				putDone[e.ID] = now
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		got := len(lat)
		mu.Unlock()
		if int64(got) >= sent || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	c.print(result{Case: "e2e", Variant: "put_to_handler", Envelopes: int64(len(lat)), Seconds: c.e2eDuration.Seconds(),
		PerSecond: float64(len(lat)) / c.e2eDuration.Seconds(), P50Millis: percentile(lat, 0.5), P99Millis: percentile(lat, 0.99)})
	return nil
}

func benchWAL(ctx context.Context, c benchConfig) error {
	h, err := newHarness(ctx, c)
	if err != nil {
		return err
	}
	defer h.close()
	q, err := h.store.Queue("bench")
	if err != nil {
		return err
	}
	if _, err := h.pool.Exec(ctx, "CREATE TABLE "+h.schema+".bare (payload json)"); err != nil {
		return err
	}
	const n, conc = 10000, 64
	lsn := func() (int64, error) {
		var v int64
		err := h.pool.QueryRow(ctx, "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").Scan(&v)
		return v, err
	}
	measure := func(put func(context.Context, storagefirst.Envelope) error) (float64, error) {
		es := make(chan storagefirst.Envelope, n)
		for range n {
			es <- env()
		}
		close(es)
		before, err := lsn()
		if err != nil {
			return 0, err
		}
		var wg sync.WaitGroup
		var firstErr atomic.Value
		for range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for e := range es {
					if err := put(ctx, e); err != nil {
						firstErr.Store(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if err, ok := firstErr.Load().(error); ok {
			return 0, err
		}
		after, err := lsn()
		return float64(after-before) / n, err
	}
	perEnv, err := measure(func(ctx context.Context, e storagefirst.Envelope) error { return q.Put(ctx, e) })
	if err != nil {
		return err
	}
	// The bare row goes in through the same group commit path: a batcher of one
	// multi-row INSERT per batch, so only the row itself differs.
	bare := newBareBatcher(h)
	defer bare.stop()
	perBare, err := measure(func(ctx context.Context, e storagefirst.Envelope) error { return bare.put(ctx, string(e.Payload)) })
	if err != nil {
		return err
	}
	c.print(result{Case: "wal", Variant: "put_vs_bare_row", Concurrency: conc, Envelopes: n,
		WALBytesPer: perEnv, WALBaseline: perBare, WALRatio: perEnv / perBare})
	return nil
}
