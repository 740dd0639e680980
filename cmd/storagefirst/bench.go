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

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storagefirst/storagefirst-go/pgstore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// benchDatabaseURLDefault is the local server the tests use too.
const benchDatabaseURLDefault = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// benchPoolSizeDefault is the pool of every Postgres case, the library's and its
// naive baseline's alike: one connection per caller of the largest put case, and
// two more (as the side-by-side harness sizes its pools).
const benchPoolSizeDefault = 66

// benchConfig is what the bench flags set.
type benchConfig struct {
	out         io.Writer
	url         string
	duration    time.Duration
	e2eDuration time.Duration
	e2eRate     int
	consumeN    int
	cases       string
	text        bool
	batches     int
	reps        int
	sqliteDir   string
	pool        int

	mu      sync.Mutex
	results []result
}

// bench is the bench command: it parses the flags and runs the cases.
func bench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := &benchConfig{out: stdout}
	fs := newFlagSet("bench", stderr)
	fs.StringVar(&c.url, "database-url", envOr("STORAGEFIRST_DATABASE_URL", envOr("STORAGEFIRST_TEST_DATABASE_URL", benchDatabaseURLDefault)),
		"Postgres URL (default $STORAGEFIRST_DATABASE_URL, else $STORAGEFIRST_TEST_DATABASE_URL, else the local server)")
	fs.DurationVar(&c.duration, "duration", 3*time.Second, "how long each put case runs, per repetition")
	fs.DurationVar(&c.e2eDuration, "e2e-duration", 10*time.Second, "how long the e2e case runs, per repetition")
	fs.IntVar(&c.e2eRate, "e2e-rate", 500, "envelopes per second the e2e case offers")
	fs.IntVar(&c.consumeN, "consume-n", 20000, "envelopes drained by each consume case, per repetition")
	fs.IntVar(&c.batches, "concurrent-batches", 0, "pgstore Config.MaxConcurrentBatches (0: its default)")
	fs.IntVar(&c.reps, "reps", 3, "repetitions of each case, interleaved with its baseline (medians and spread are reported)")
	fs.IntVar(&c.pool, "pool", benchPoolSizeDefault, "pgxpool MaxConns of every Postgres case, the baselines' too")
	fs.StringVar(&c.sqliteDir, "sqlite-dir", "", "directory for the sqlite case's files (default: a temporary directory)")
	fs.StringVar(&c.cases, "cases", "put,consume,e2e,wal,sqlite", "comma-separated cases to run")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	jsonOut := fs.Bool("json", true, "print JSON lines: one per measurement, then one per summary row (-json=false prints the table only)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if c.reps < 1 || c.pool < 4 {
		fmt.Fprintln(stderr, "-reps must be at least 1 and -pool at least 4")
		return errUsage
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

// result is one JSON line: one measurement (a case, variant and concurrency in one
// repetition). Baseline names the variant it is compared with; Settings says
// under which durability settings and pool it ran.
type result struct {
	Case          string  `json:"case"`
	Backend       string  `json:"backend"`
	Variant       string  `json:"variant,omitempty"`
	Baseline      string  `json:"baseline,omitempty"`
	Concurrency   int     `json:"concurrency,omitempty"`
	Rep           int     `json:"rep"`
	Envelopes     int64   `json:"envelopes"`
	Seconds       float64 `json:"seconds"`
	PerSecond     float64 `json:"per_second"`
	P50Millis     float64 `json:"p50_ms,omitempty"`
	P99Millis     float64 `json:"p99_ms,omitempty"`
	BatchAvg      float64 `json:"avg_batch,omitempty"`
	WALBytesPer   float64 `json:"wal_bytes_per_envelope,omitempty"`
	WALBaseline   float64 `json:"wal_bytes_per_bare_row,omitempty"`
	WALRatio      float64 `json:"wal_ratio,omitempty"`
	TargetRate    float64 `json:"target_rate,omitempty"`
	AchievedRate  float64 `json:"achieved_rate,omitempty"`
	HandledRate   float64 `json:"handled_rate,omitempty"`
	HandlerFirst  int     `json:"handler_before_put_returned,omitempty"`
	SynchronousCo string  `json:"synchronous_commit,omitempty"`
	Settings      string  `json:"settings,omitempty"`
}

func (c *benchConfig) print(r result) {
	c.mu.Lock()
	c.results = append(c.results, r)
	c.mu.Unlock()
	if c.text {
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
	// synchronousCommit is the server's synchronous_commit; settings describes
	// it with the pool and pgstore settings.
	synchronousCommit string
	settings          string
}

func newHarness(ctx context.Context, c *benchConfig) (*harness, error) {
	cfg, err := pgxpool.ParseConfig(c.url)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = int32(c.pool)
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
	var sc string
	_ = pool.QueryRow(ctx, "SHOW synchronous_commit").Scan(&sc)
	batches := c.batches
	if batches == 0 {
		batches = pgstore.MaxConcurrentBatchesDefault
	}
	settings := fmt.Sprintf("server synchronous_commit=%s; pool %d connections (baselines the same); pgstore defaults: "+
		"bookkeeping synchronous_commit=off (SynchronousBookkeeping=false), Put and Complete durable; MaxConcurrentBatches=%d",
		sc, c.pool, batches)
	return &harness{pool: pool, store: s, schema: schema, synchronousCommit: sc, settings: settings}, nil
}

func (h *harness) close() {
	h.store.Close()
	_, _ = h.pool.Exec(context.Background(), "DROP SCHEMA "+h.schema+" CASCADE")
	h.pool.Close()
}

func runBench(ctx context.Context, c *benchConfig) error {
	printHeader(ctx, c)
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
		case "sqlite":
			err = benchSQLite(ctx, c)
		default:
			err = fmt.Errorf("unknown case %q", name)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	printSummary(c)
	return nil
}

// percentile is the nearest-rank percentile of ds in milliseconds; ds may hold
// negative durations (a handler that started before Put returned), kept as they
// are.
func percentile(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(float64(len(ds)-1) * p)
	return float64(ds[i]) / float64(time.Millisecond)
}

// benchPut runs group-commit Put and the naive baseline (one INSERT per call into
// a copy of the envelopes table) side by side, alternating which goes first, at
// each concurrency, -reps times.
func benchPut(ctx context.Context, c *benchConfig) error {
	h, err := newHarness(ctx, c)
	if err != nil {
		return err
	}
	defer h.close()
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
	type variant struct {
		name string
		put  func(context.Context, storagefirst.Envelope) error
	}
	vs := []variant{{"naive_insert", naive}, {"group_commit", group}}
	for rep := 1; rep <= c.reps; rep++ {
		for _, conc := range []int{1, 16, 64} {
			for i := range vs {
				v := vs[(i+rep)%len(vs)]
				before := h.store.BatchStats()
				n, lat, secs, err := drive(ctx, conc, c.duration, v.put)
				if err != nil {
					return err
				}
				r := result{Case: "put", Backend: "postgres", Variant: v.name, Concurrency: conc, Rep: rep, Envelopes: n, Seconds: secs,
					PerSecond: float64(n) / secs, P50Millis: percentile(lat, 0.5), P99Millis: percentile(lat, 0.99),
					SynchronousCo: h.synchronousCommit, Settings: h.settings}
				if v.name == "group_commit" {
					after := h.store.BatchStats()
					r.BatchAvg = float64(after.PutEnvelopes-before.PutEnvelopes) / float64(max(after.PutBatches-before.PutBatches, 1))
					r.Baseline = "naive_insert"
				}
				c.print(r)
			}
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

func fill(ctx context.Context, q storagefirst.Sink, n int) error {
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

// benchE2E offers -e2e-rate envelopes per second for -e2e-duration through Put
// while a Consumer runs, -reps times, and reports the time from Put returning to
// the handler starting, signed: the wake-up can reach the consumer before the
// caller sees Put return, and such a latency is negative, not clamped to 0. The
// achieved rate (Puts that returned within the window) and the handled rate
// (handlers that started within it) are reported beside the target: a loaded
// machine may fall short.
func benchE2E(ctx context.Context, c *benchConfig) error {
	for rep := 1; rep <= c.reps; rep++ {
		r, err := e2eOnce(ctx, c)
		if err != nil {
			return err
		}
		r.Rep = rep
		c.print(r)
	}
	return nil
}

func e2eOnce(ctx context.Context, c *benchConfig) (result, error) {
	h, err := newHarness(ctx, c)
	if err != nil {
		return result{}, err
	}
	defer h.close()
	q, err := h.store.Queue("bench")
	if err != nil {
		return result{}, err
	}
	var (
		mu       sync.Mutex
		returned = map[string]time.Time{}
		started  = map[string]time.Time{}
	)
	cons, err := storagefirst.NewConsumer(storagefirst.ConsumerConfig{
		Queue: q, Workers: benchWorkers, Logger: slog.New(slog.DiscardHandler),
		Handler: storagefirst.HandlerFunc(func(_ context.Context, e storagefirst.Envelope) error {
			now := time.Now()
			mu.Lock()
			if _, ok := started[e.ID]; !ok {
				started[e.ID] = now
			}
			mu.Unlock()
			return nil
		}),
	})
	if err != nil {
		return result{}, err
	}
	runCtx, stop := context.WithCancel(ctx)
	runDone := make(chan struct{})
	go func() { defer close(runDone); _ = cons.Run(runCtx) }()
	defer func() { stop(); <-runDone }()

	rate := max(c.e2eRate, 1)
	interval := time.Second / time.Duration(rate)
	total := int(float64(rate) * c.e2eDuration.Seconds())
	start := time.Now()
	window := start.Add(c.e2eDuration)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range total {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		e := env()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := q.Put(ctx, e); err != nil {
				failed.Add(1)
				return
			}
			now := time.Now()
			mu.Lock()
			returned[e.ID] = now
			mu.Unlock()
		}()
	}
	offered := time.Since(start)
	wg.Wait()
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		got := len(started)
		mu.Unlock()
		if got >= total-int(failed.Load()) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	lat := make([]time.Duration, 0, len(returned))
	early, putInWindow, handledInWindow := 0, 0, 0
	for _, ret := range returned {
		if !ret.After(window) {
			putInWindow++
		}
	}
	for _, st := range started {
		if !st.After(window) {
			handledInWindow++
		}
	}
	for id, ret := range returned {
		st, ok := started[id]
		if !ok {
			continue
		}
		d := st.Sub(ret)
		if d < 0 {
			early++
		}
		lat = append(lat, d)
	}
	return result{Case: "e2e", Backend: "postgres", Variant: "put_to_handler", Concurrency: benchWorkers,
		Envelopes: int64(len(lat)), Seconds: offered.Seconds(), PerSecond: float64(len(lat)) / offered.Seconds(),
		P50Millis: percentile(lat, 0.5), P99Millis: percentile(lat, 0.99), HandlerFirst: early,
		// Puts that returned, and handlers that started, within the offered
		// window: what the system kept up with, not what was launched.
		TargetRate:    float64(rate),
		AchievedRate:  float64(putInWindow) / c.e2eDuration.Seconds(),
		HandledRate:   float64(handledInWindow) / c.e2eDuration.Seconds(),
		SynchronousCo: h.synchronousCommit, Settings: h.settings}, nil
}

// benchWAL measures the WAL written per envelope by Put beside a bare row holding
// the same payload, -reps times.
func benchWAL(ctx context.Context, c *benchConfig) error {
	for rep := 1; rep <= c.reps; rep++ {
		if err := walOnce(ctx, c, rep); err != nil {
			return err
		}
	}
	return nil
}

func walOnce(ctx context.Context, c *benchConfig, rep int) error {
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
	c.print(result{Case: "wal", Backend: "postgres", Variant: "put_vs_bare_row", Baseline: "bare_row", Concurrency: conc, Envelopes: n, Rep: rep,
		WALBytesPer: perEnv, WALBaseline: perBare, WALRatio: perEnv / perBare, Settings: h.settings})
	return nil
}
