package shop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/storagefirst/storagefirst-go/dlq"
	"github.com/storagefirst/storagefirst-go/ingest"
	"github.com/storagefirst/storagefirst-go/problem"
	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/workflow"
)

// Defaults of Config.
const (
	WorkersDefault       = 8
	RetryIntervalDefault = time.Second
	CancelTimeoutDefault = 25 * time.Second
	SweepEveryDefault    = 30 * time.Second
	PageSizeDefault      = 20
	PageSizeLimit        = 100
	// TypeCreateOrder is the envelope type of create requests.
	TypeCreateOrder = "pizza.order.create"
	// WorkflowCancel names the cancel workflow.
	WorkflowCancel = "cancel-order"
	// CancelMaxInputBytes bounds a cancel workflow's input: a cancel names one
	// order, so anything larger is refused (413) before an execution is stored.
	CancelMaxInputBytes = 4 << 10
	// MaxOrderIDLength bounds the order ID a cancel names.
	MaxOrderIDLength = 64
	// MaxRequestIDLength bounds CancelInput.RequestID.
	MaxRequestIDLength = 128
)

// Config configures a Shop. Backend is required.
type Config struct {
	Backend Backend
	Logger  *slog.Logger
	// FailCreate, if set, is asked before each create: an error fails it (a
	// permanent one sends the order to the dead letters at once). For tests and
	// demonstrations of the DLQ.
	FailCreate func(CreateOrder) error
	// FailCancel, if set, is asked before each cancel: an error (with a
	// workflow.Errorf name) fails the task. For tests and demonstrations.
	FailCancel func(CancelOrder) error
	// Workers bounds the creates (and queued cancels) handled at once.
	Workers int
	// RetryInterval is the first wait before a failed create is retried (3 retries,
	// doubling).
	RetryInterval time.Duration
	// CancelTimeout bounds a cancel workflow (below API Gateway's 29 s).
	CancelTimeout time.Duration
	// SweepEvery is how often interrupted cancel workflows are looked for.
	SweepEvery time.Duration
	// Admin guards /admin/ (and, when Console is nil, /console/); nil refuses
	// every request with 401. Package operator sets it (console.RequireAuth), so
	// that this package, which the Lambda functions link, links no console.
	Admin func(http.Handler) http.Handler
	// Console, if set, is the operator console, served under /console/ (it guards
	// itself). Package operator sets it.
	Console http.Handler
	// Telemetry, if set, traces the API and the consumers (one trace per request,
	// across the store) and measures the consumers, the idempotency records and
	// the workflows. *sfotel.Instrumentation is one; package operator sets it and
	// registers the queue gauges.
	Telemetry Telemetry
}

// Telemetry is what the shop asks of its instrumentation; *sfotel.Instrumentation
// implements it. Declared here so that the shop does not link OpenTelemetry.
type Telemetry interface {
	// HTTP traces the API.
	HTTP(h http.Handler) http.Handler
	// Middleware traces and measures a consumer's handling.
	Middleware(queue string) storagefirst.Middleware
	// OnProcessed measures a consumer's outcomes, then calls next (if non-nil).
	OnProcessed(queue string, next func(context.Context, storagefirst.Processed)) func(context.Context, storagefirst.Processed)
	// Idempotency measures an idempotency store.
	Idempotency(s storagefirst.IdempotencyStore) storagefirst.IdempotencyStore
	// Workflows measures a workflow store.
	Workflows(s workflow.Store) workflow.Store
	// Sink traces a queue's writes.
	Sink(queue string, s storagefirst.Sink) storagefirst.Sink
}

// Shop is the pizza shop.
type Shop struct {
	cfg      Config
	orders   Orders
	engine   *workflow.Engine
	cancelWF *workflow.Workflow
	create   *ingest.FrontDoor[CreateOrder]
	createMW storagefirst.Middleware // exactly once per create-order envelope
	cancel   *workflow.HTTPHandler
	mux      *http.ServeMux
	handler  http.Handler
	failMu   sync.RWMutex
}

// New wires the shop.
func New(cfg Config) (*Shop, error) {
	if cfg.Backend == nil {
		return nil, errors.New("shop: Config.Backend is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Workers <= 0 {
		cfg.Workers = WorkersDefault
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = RetryIntervalDefault
	}
	if cfg.CancelTimeout <= 0 {
		cfg.CancelTimeout = CancelTimeoutDefault
	}
	if cfg.SweepEvery <= 0 {
		cfg.SweepEvery = SweepEveryDefault
	}
	s := &Shop{cfg: cfg, orders: cfg.Backend.Orders(), mux: http.NewServeMux()}

	var err error
	idem := cfg.Backend.Idempotency()
	if cfg.Telemetry != nil {
		idem = cfg.Telemetry.Idempotency(idem)
	}
	// Keyed on the envelope's ID (the order's ID), not on the client's
	// Idempotency-Key: the front door already stores one envelope per key while
	// its record lives, and once that record expires a retry with the same key is
	// a new order with a new ID, which must be created, not skipped as a repeat of
	// the first. dlq.OriginalID keeps a replay under a new ID a repeat of its
	// original.
	s.createMW, err = createIdempotency(idem, dlq.OriginalID)
	if err != nil {
		return nil, err
	}
	s.cancelWF, err = workflow.New(WorkflowCancel, CancelWorkflow(s.CancelTask(), cfg.Backend.CancelQueue(), cfg.CancelTimeout))
	if err != nil {
		return nil, err
	}
	workflows := cfg.Backend.Workflows()
	if cfg.Telemetry != nil {
		workflows = cfg.Telemetry.Workflows(workflows)
	}
	s.engine, err = workflow.NewEngine(workflow.EngineConfig{Store: workflows, DeadLetters: cfg.Backend.CancelQueue(),
		Logger: cfg.Logger}, s.cancelWF)
	if err != nil {
		return nil, err
	}
	var sink storagefirst.Sink = createSink{s}
	if cfg.Telemetry != nil {
		// Still an ingest.KeyedSink: the put latency is measured, the key kept.
		sink = cfg.Telemetry.Sink("create-order", sink)
	}
	s.create, err = ingest.NewFrontDoor[CreateOrder](ingest.FrontDoorConfig{
		Sink: sink, Type: TypeCreateOrder, Source: "pizza-shop",
		IdempotencyScope: "http:create-order",
		Location:         func(e storagefirst.Envelope) string { return "/orders/" + e.ID }, Logger: cfg.Logger,
		// The trace context (sfotel.Instrumentation.HTTP sets it) travels in the envelope.
		MetadataHeaders: []string{"traceparent", "tracestate"},
	})
	if err != nil {
		return nil, err
	}
	cancelInput := func(r *http.Request, body []byte) (json.RawMessage, error) {
		var c CancelOrder
		if len(body) > 0 && string(body) != "{}" {
			var err error
			if c, err = ingest.Decode[CancelOrder](body, ingest.DecodeConfig{}); err != nil && r.PathValue("id") == "" {
				return nil, err
			}
		}
		if id := r.PathValue("id"); id != "" {
			c = CancelOrder{ID: id}
		}
		if err := c.Validate(); err != nil {
			return nil, err
		}
		return json.Marshal(CancelInput{ActionType: "cancel", Body: c})
	}
	s.cancel, err = workflow.NewHTTPHandler(workflow.HTTPConfig{Starter: s.engine.Starter(s.cancelWF), Input: cancelInput,
		Timeout: cfg.CancelTimeout + time.Second, Logger: cfg.Logger,
		Status: map[string]int{"OrderNotFound": http.StatusNotFound, "OrderNotCancellable": http.StatusConflict,
			"InvalidRequest": http.StatusBadRequest}})
	if err != nil {
		return nil, err
	}
	s.routes()
	var h http.Handler = problem.Routes(s.mux, correlationID)
	if cfg.Telemetry != nil {
		h = cfg.Telemetry.HTTP(h) // inside problem.Routes' caller, so the span learns the route
	}
	s.handler = correlate(h)
	return s, nil
}

// SetFailCreate replaces the create failure injector (nil: none).
func (s *Shop) SetFailCreate(fn func(CreateOrder) error) {
	s.failMu.Lock()
	defer s.failMu.Unlock()
	s.cfg.FailCreate = fn
}

// SetFailCancel replaces the cancel failure injector (nil: none).
func (s *Shop) SetFailCancel(fn func(CancelOrder) error) {
	s.failMu.Lock()
	defer s.failMu.Unlock()
	s.cfg.FailCancel = fn
}

// createSink is the front door's sink: the order row and its envelope in one
// transaction, and with an Idempotency-Key the key's record in it too (an
// ingest.KeyedSink), so that a retried create finds the first one whatever
// happened to the first answer.
type createSink struct{ s *Shop }

// Put stores each envelope with its order, one transaction each.
func (c createSink) Put(ctx context.Context, envs ...storagefirst.Envelope) error {
	var failed []storagefirst.FailedEnvelope
	for _, env := range envs {
		if _, err := c.PutKeyed(ctx, storagefirst.KeyedPut{Envelope: env}); err != nil {
			failed = append(failed, storagefirst.FailedEnvelope{ID: env.ID, Err: err})
		}
	}
	if len(failed) > 0 {
		return &storagefirst.PutError{Total: len(envs), Failed: failed}
	}
	return nil
}

// PutKeyed stores the order, its envelope and, when p.Key is set, the key's
// record, in one transaction.
func (c createSink) PutKeyed(ctx context.Context, p storagefirst.KeyedPut) (storagefirst.KeyedResult, error) {
	o, err := ingest.Decode[CreateOrder](p.Envelope.Payload, ingest.DecodeConfig{})
	if err != nil {
		return storagefirst.KeyedResult{}, storagefirst.Permanent(err)
	}
	return c.s.orders.Accept(ctx, p, Order{ID: p.Envelope.ID, Username: o.Username, Items: o.Items})
}

// CreateHandler is the create-order consumer's handler chain: decode, then create
// the order exactly once.
func (s *Shop) CreateHandler() storagefirst.Handler {
	create := ingest.HandlerFor(ingest.DecodeConfig{AllowUnknownFields: true}, func(ctx context.Context, ev ingest.Event[CreateOrder]) error {
		s.failMu.RLock()
		fail := s.cfg.FailCreate
		s.failMu.RUnlock()
		if fail != nil {
			if err := fail(ev.Data); err != nil {
				return err
			}
		}
		return s.orders.Create(ctx, Order{ID: ev.ID, Username: ev.Data.Username, Items: ev.Data.Items})
	})
	mws := []storagefirst.Middleware{s.createMW}
	if s.cfg.Telemetry != nil { // outermost: the span covers the idempotency check
		mws = append([]storagefirst.Middleware{s.cfg.Telemetry.Middleware("create-order")}, mws...)
	}
	return storagefirst.Chain(create, mws...)
}

// createIdempotency is the create-order consumer's idempotency middleware on
// store, keyed by key (nil: the envelope's Key, its Idempotency-Key or else its
// ID). A short claim: after a crash the order is created again within 30 s. It is
// safe because the claim is completed in the order's own transaction (a worker
// that outlives its claim cannot commit).
func createIdempotency(store storagefirst.IdempotencyStore, key func(storagefirst.Envelope) string) (storagefirst.Middleware, error) {
	return storagefirst.Idempotent(storagefirst.IdempotentConfig{Store: store, Scope: "create-order",
		Key: key, Lease: 30 * time.Second})
}

// CancelInput is the cancel workflow's input, as in the reference system.
type CancelInput struct {
	ActionType string      `json:"actionType"`
	Body       CancelOrder `json:"body"`
	// RequestID identifies the request the cancel answers (on AWS, API Gateway's
	// request ID, which the integration's template writes). Unset, the workflow
	// execution's ID stands for it. Retries of the task with it cancel at most one
	// order (CancelOrder.Attempt).
	RequestID string `json:"requestId,omitempty"`
}

// CancelTask is the cancel workflow's task: the same function runs in the local
// engine and, through awslambda.Task, as the cancel-order Lambda.
func (s *Shop) CancelTask() workflow.TaskFunc {
	return workflow.Func(s.CancelOrder)
}

// CancelOrder cancels the order the input names. Its errors carry the names the
// workflow routes on.
func (s *Shop) CancelOrder(ctx context.Context, in CancelInput) (Order, error) {
	if err := in.Body.Validate(); err != nil {
		return Order{}, workflow.Errorf("InvalidRequest", "%v", err)
	}
	s.failMu.RLock()
	fail := s.cfg.FailCancel
	s.failMu.RUnlock()
	if fail != nil {
		if err := fail(in.Body); err != nil {
			return Order{}, err
		}
	}
	c := in.Body
	c.Attempt = in.RequestID
	if c.Attempt == "" {
		if info, ok := workflow.ExecutionFromContext(ctx); ok {
			c.Attempt = info.ID
		}
	}
	ord, err := s.orders.Cancel(ctx, c)
	switch {
	case errors.Is(err, ErrNotFound):
		return Order{}, workflow.Errorf("OrderNotFound", "%v", err)
	case errors.Is(err, ErrNotCancellable):
		return Order{}, workflow.Errorf("OrderNotCancellable", "%v", err)
	case err != nil:
		return Order{}, workflow.Errorf("Database.Unavailable", "%v", err)
	}
	return ord, nil
}

// Lambda service errors the reference system's cancel task retries.
var lambdaServiceErrors = []string{"Lambda.ServiceException", "Lambda.AWSLambdaException",
	"Lambda.SdkClientException", "Lambda.ClientExecutionTimeoutException"}

// Timings of the cancel workflow. Its longest path, which workflow.New checks
// against the execution's timeout, fits CancelTimeoutDefault (25 s): CancelOrder's
// worst case of every attempt timing out and every retry waiting (4 attempts of
// CancelTaskTimeout, 4 s of waits: 20 s), then SendToDLQ's (2 attempts of
// CancelDLQTimeout, 1 s apart: 3 s), 23 s in all. So a cancel that cannot succeed
// reaches the dead-letter queue before the execution times out.
const (
	CancelTaskTimeout = 4 * time.Second
	CancelDLQTimeout  = 1 * time.Second
)

// CancelWorkflow is the cancel workflow: the task retried on transient errors
// (Lambda service errors twice, 1 s then 2 s; an unavailable database once,
// after 1 s), business rejections routed to their own Fail states, and everything
// else caught into the dead-letter queue, all inside the timeout (see
// CancelTaskTimeout). (The reference system's 2 s x 6 attempts with backoff 2
// waits 2+4+...+64 s: it never fits an execution API Gateway waits 29 s for.) Its
// input is checked before anything is stored: at most CancelMaxInputBytes, a
// CancelInput that validates, an order ID of at most MaxOrderIDLength.
func CancelWorkflow(task workflow.TaskFunc, dead workflow.DeadLetterDestination, timeout time.Duration) workflow.Definition {
	return workflow.Definition{
		Comment:       "Cancel a pizza order (storage-first reference system)",
		StartAt:       "CancelOrder",
		Timeout:       timeout,
		MaxInputBytes: CancelMaxInputBytes,
		ValidateInput: validateCancelInput,
		States: map[string]workflow.State{
			"CancelOrder": workflow.Task{Run: task, Resource: "cancel-order", Timeout: CancelTaskTimeout,
				Retry: []workflow.Retrier{
					{ErrorEquals: lambdaServiceErrors, IntervalSeconds: 1, MaxRetries: 2, BackoffRate: 2},
					{ErrorEquals: []string{"Database.Unavailable"}, IntervalSeconds: 1, MaxRetries: 1, BackoffRate: 2},
				},
				Catch: []workflow.Catcher{
					{ErrorEquals: []string{"OrderNotFound"}, Next: "OrderNotFound"},
					{ErrorEquals: []string{"OrderNotCancellable"}, Next: "OrderNotCancellable"},
					{ErrorEquals: []string{"InvalidRequest"}, Next: "InvalidRequest"},
					{ErrorEquals: []string{workflow.ErrorAll}, Next: "SendToDLQ", ResultPath: "$.error"},
				},
				End: true},
			"OrderNotFound":       workflow.Fail{Error: "OrderNotFound", Cause: "there is no such order"},
			"OrderNotCancellable": workflow.Fail{Error: "OrderNotCancellable", Cause: "the order cannot be cancelled in its state"},
			"InvalidRequest":      workflow.Fail{Error: "InvalidRequest", Cause: "give the order's id or username"},
			// A dead letter the queue does not take within CancelDLQTimeout is
			// tried once more; one it never takes fails this state, and the engine
			// dead-letters the execution itself, until it is stored.
			"SendToDLQ": workflow.Task{Run: workflow.DeadLetterTask(dead), Resource: "dlq", Next: "CancelFailed", Timeout: CancelDLQTimeout,
				Retry: []workflow.Retrier{{ErrorEquals: []string{workflow.ErrorAll}, IntervalSeconds: 1, MaxRetries: 1}}},
			"CancelFailed": workflow.Fail{Error: "CancelFailed",
				Cause: "the order could not be cancelled; the request is in the dead-letter queue"},
		},
	}
}

// Run consumes create-order envelopes (and replayed cancels) and sweeps
// interrupted workflows until ctx ends; then in-flight work finishes or is
// released.
func (s *Shop) Run(ctx context.Context) error {
	b := s.cfg.Backend
	onDead := func(ctx context.Context, p storagefirst.Processed) {
		if p.Action == storagefirst.ActionDeadLettered {
			if err := s.orders.MarkFailed(ctx, p.Envelope.ID); err != nil {
				s.cfg.Logger.WarnContext(ctx, "pizza: marking an order failed", "id", p.Envelope.ID, "error", err)
			}
		}
	}
	cancelHandler := s.engine.Handler(s.cancelWF)
	var onCancel func(context.Context, storagefirst.Processed)
	if t := s.cfg.Telemetry; t != nil {
		onDead = t.OnProcessed("create-order", onDead)
		onCancel = t.OnProcessed("cancel-order", nil)
		cancelHandler = storagefirst.Chain(cancelHandler, t.Middleware("cancel-order"))
	}
	creates, err := storagefirst.NewConsumer(storagefirst.ConsumerConfig{Queue: b.OrdersQueue(), Handler: s.CreateHandler(),
		Workers: s.cfg.Workers, Retry: storagefirst.RetryPolicy{Interval: s.cfg.RetryInterval, MaxRetries: 3},
		Logger: s.cfg.Logger, OnProcessed: onDead, ShutdownTimeout: 10 * time.Second})
	if err != nil {
		return err
	}
	cancels, err := storagefirst.NewConsumer(storagefirst.ConsumerConfig{Queue: b.CancelQueue(), Handler: cancelHandler,
		Workers: 2, Retry: storagefirst.RetryPolicy{NoRetries: true}, Logger: s.cfg.Logger,
		OnProcessed: onCancel, ShutdownTimeout: 10 * time.Second})
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, c := range []*storagefirst.Consumer{creates, cancels} {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- c.Run(ctx) }()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(s.cfg.SweepEvery)
		defer t.Stop()
		for {
			if n, err := s.engine.Sweep(ctx); err != nil && ctx.Err() == nil {
				s.cfg.Logger.WarnContext(ctx, "pizza: sweeping workflows", "error", err)
			} else if n > 0 {
				s.cfg.Logger.InfoContext(ctx, "pizza: recovered interrupted cancellations", "count", n)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// Handler is the shop's HTTP API. Every answer carries X-Correlation-Id, and
// every error is application/problem+json (package problem), the router's own
// (404, 405 with Allow) included. With Config.Telemetry every request is traced.
func (s *Shop) Handler() http.Handler { return s.handler }

// Mux is the shop's router, for a caller that adds routes (such as /metrics).
func (s *Shop) Mux() *http.ServeMux { return s.mux }

func (s *Shop) routes() {
	s.mux.Handle("POST /orders", s.create)
	s.mux.Handle("PUT /orders", s.cancel)
	s.mux.Handle("POST /orders/{id}/cancel", s.cancel)
	s.mux.HandleFunc("GET /orders", s.list)
	s.mux.HandleFunc("GET /orders/{id}", s.get)
	s.mux.HandleFunc("GET /healthz", s.health)
	guard := s.cfg.Admin
	if guard == nil {
		guard = refuseAll
	}
	s.mux.Handle("GET /admin/stats", guard(http.HandlerFunc(s.stats)))
	s.mux.Handle("POST /admin/dlq/replay", guard(http.HandlerFunc(s.replay)))
	// The operator console; without one configured, /console/ refuses everything.
	con := s.cfg.Console
	if con == nil {
		con = guard(http.NotFoundHandler())
	}
	s.mux.Handle("/console/", con)
}

// refuseAll is the admin guard of a shop without one: 401 for every request.
func refuseAll(http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "authentication required", http.StatusUnauthorized)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Shop) list(w http.ResponseWriter, r *http.Request) {
	limit := PageSizeDefault
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > PageSizeLimit {
			s.writeProblem(w, r, http.StatusBadRequest, ProblemInvalidQuery, fmt.Sprintf("limit is a number from 1 to %d", PageSizeLimit), nil)
			return
		}
		limit = n
	}
	orders, err := s.orders.List(r.Context(), r.URL.Query().Get("after"), limit)
	if err != nil {
		s.writeProblem(w, r, http.StatusServiceUnavailable, ProblemUnavailable, "the orders could not be read; retry", err)
		return
	}
	page := Page{Orders: orders}
	if len(orders) == limit {
		page.Next = orders[len(orders)-1].ID
		// A relative reference (RFC 3986 section 4.2): it resolves against the
		// URL the client called, so it stays right behind a prefix the shop
		// does not see (an API Gateway stage, a custom domain's base path).
		page.NextURL = "?" + url.Values{"limit": {strconv.Itoa(limit)}, "after": {page.Next}}.Encode()
		w.Header().Set("Link", "<"+page.NextURL+`>; rel="next"`)
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Shop) get(w http.ResponseWriter, r *http.Request) {
	ord, err := s.orders.Get(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, ErrNotFound):
		s.writeProblem(w, r, http.StatusNotFound, ProblemNotFound, "there is no order "+strconv.Quote(r.PathValue("id")), nil)
	case err != nil:
		s.writeProblem(w, r, http.StatusServiceUnavailable, ProblemUnavailable, "the order could not be read; retry", err)
	default:
		writeJSON(w, http.StatusOK, ord)
	}
}

func (s *Shop) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.cfg.Backend.Ping(ctx); err != nil {
		s.writeProblem(w, r, http.StatusServiceUnavailable, ProblemUnavailable, "the store does not answer", err)
		return
	}
	// The store's kind ("sqlite", "postgres"), not its path or address.
	kind, _, _ := strings.Cut(s.cfg.Backend.Name(), " ")
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "store": kind})
}

func (s *Shop) stats(w http.ResponseWriter, r *http.Request) {
	out := map[string]storagefirst.QueueStats{}
	for name, q := range map[string]Queue{"create-order": s.cfg.Backend.OrdersQueue(), "cancel-order": s.cfg.Backend.CancelQueue()} {
		st, err := q.Stats(r.Context())
		if err != nil {
			s.writeProblem(w, r, http.StatusServiceUnavailable, ProblemUnavailable, "the stats could not be read; retry", err)
			return
		}
		out[name] = st
	}
	writeJSON(w, http.StatusOK, out)
}

// replay puts a queue's dead letters back (dlq.Replay in place): ?queue=create-order
// (the default) or cancel-order; &dry_run=true to look first.
func (s *Shop) replay(w http.ResponseWriter, r *http.Request) {
	var q Queue
	switch r.URL.Query().Get("queue") {
	case "", "create-order":
		q = s.cfg.Backend.OrdersQueue()
	case "cancel-order":
		q = s.cfg.Backend.CancelQueue()
	default:
		s.writeProblem(w, r, http.StatusBadRequest, ProblemInvalidQuery, "queue is create-order or cancel-order", nil)
		return
	}
	sum, err := dlq.Replay(r.Context(), dlq.FromDeadLetters(q), nil, dlq.ReplayOptions{DryRun: r.URL.Query().Get("dry_run") == "true"})
	if err != nil {
		s.writeProblem(w, r, http.StatusServiceUnavailable, ProblemUnavailable, "the dead letters could not be replayed; retry", err)
		return
	}
	writeJSON(w, http.StatusOK, sum)
}

// validateCancelInput is the cancel workflow's input check.
func validateCancelInput(input json.RawMessage) error {
	var in CancelInput
	if err := json.Unmarshal(input, &in); err != nil {
		return fmt.Errorf("the input is not a cancel: %w", err)
	}
	if len(in.Body.ID) > MaxOrderIDLength {
		return fmt.Errorf("an order ID has at most %d characters", MaxOrderIDLength)
	}
	if len(in.RequestID) > MaxRequestIDLength {
		return fmt.Errorf("a request ID has at most %d characters", MaxRequestIDLength)
	}
	return in.Body.Validate()
}
