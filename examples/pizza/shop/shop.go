package shop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/storagefirst/storagefirst-go/console"
	"github.com/storagefirst/storagefirst-go/dlq"
	"github.com/storagefirst/storagefirst-go/ingest"
	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sfotel"
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
	// AdminAuth guards /admin/ and the operator console under /console/: with no
	// credentials in it, both refuse every request.
	AdminAuth console.Auth
	// Telemetry, if set, traces the API and the consumers (one trace per request,
	// across the store) and measures the queues, the consumers, the idempotency
	// records and the workflows.
	Telemetry *sfotel.Instrumentation
}

// Shop is the pizza shop.
type Shop struct {
	cfg      Config
	orders   Orders
	engine   *workflow.Engine
	cancelWF *workflow.Workflow
	create   *ingest.FrontDoor[CreateOrder]
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
	s.cancelWF, err = workflow.New(WorkflowCancel, CancelWorkflow(s.CancelTask(), cfg.Backend.CancelQueue(), cfg.CancelTimeout))
	if err != nil {
		return nil, err
	}
	workflows := cfg.Backend.Workflows()
	if cfg.Telemetry != nil {
		workflows = cfg.Telemetry.Workflows(workflows)
		if _, err := cfg.Telemetry.ObserveQueues(map[string]storagefirst.StatsReporter{
			"create-order": cfg.Backend.OrdersQueue(), "cancel-order": cfg.Backend.CancelQueue()}); err != nil {
			return nil, err
		}
	}
	s.engine, err = workflow.NewEngine(workflow.EngineConfig{Store: workflows, DeadLetters: cfg.Backend.CancelQueue(),
		Logger: cfg.Logger}, s.cancelWF)
	if err != nil {
		return nil, err
	}
	var sink storagefirst.Sink = storagefirst.SinkFunc(s.accept)
	if cfg.Telemetry != nil {
		sink = cfg.Telemetry.Sink("create-order", sink)
	}
	s.create, err = ingest.NewFrontDoor[CreateOrder](ingest.FrontDoorConfig{
		Sink: sink, Type: TypeCreateOrder, Source: "pizza-shop",
		Idempotency: cfg.Backend.Idempotency(), IdempotencyScope: "http:create-order",
		Location: func(e storagefirst.Envelope) string { return "/orders/" + e.ID }, Logger: cfg.Logger,
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
	if err := s.routes(); err != nil {
		return nil, err
	}
	s.handler = s.mux
	if cfg.Telemetry != nil {
		s.handler = cfg.Telemetry.HTTP(s.mux)
	}
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

// accept is the front door's sink: the order row and its envelope, one
// transaction each.
func (s *Shop) accept(ctx context.Context, envs ...storagefirst.Envelope) error {
	var failed []storagefirst.FailedEnvelope
	for _, env := range envs {
		c, err := ingest.Decode[CreateOrder](env.Payload, ingest.DecodeConfig{})
		if err == nil {
			err = s.orders.Accept(ctx, env, Order{ID: env.ID, Username: c.Username, Items: c.Items})
		}
		if err != nil {
			failed = append(failed, storagefirst.FailedEnvelope{ID: env.ID, Err: err})
		}
	}
	if len(failed) > 0 {
		return &storagefirst.PutError{Total: len(envs), Failed: failed}
	}
	return nil
}

// CreateHandler is the create-order consumer's handler chain: decode, then create
// the order exactly once.
func (s *Shop) CreateHandler() storagefirst.Handler {
	create := ingest.HandlerFor(ingest.DecodeConfig{}, func(ctx context.Context, ev ingest.Event[CreateOrder]) error {
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
	idem := s.cfg.Backend.Idempotency()
	var mws []storagefirst.Middleware
	if s.cfg.Telemetry != nil { // outermost: the span covers the idempotency check
		idem = s.cfg.Telemetry.Idempotency(idem)
		mws = append(mws, s.cfg.Telemetry.Middleware("create-order"))
	}
	return storagefirst.Chain(create, append(mws,
		// A short claim: after a crash the order is created again within 30 s. It is
		// safe because the claim is completed in the order's own transaction (a
		// worker that outlives its claim cannot commit).
		storagefirst.Idempotent(storagefirst.IdempotentConfig{Store: idem, Scope: "create-order",
			Lease: 30 * time.Second}))...)
}

// CancelInput is the cancel workflow's input, as in the reference system.
type CancelInput struct {
	ActionType string      `json:"actionType"`
	Body       CancelOrder `json:"body"`
}

// CancelTask is the cancel workflow's task: the same function runs in the local
// engine and, through workflow.LambdaTask, as the cancel-order Lambda.
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
	ord, err := s.orders.Cancel(ctx, in.Body)
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

// CancelWorkflow is the cancel workflow: the task retried on transient errors (as
// the reference system: 2 s, 6 attempts, backoff 2 for Lambda service errors),
// business rejections routed to their own Fail states, and everything else caught
// into the dead-letter queue.
func CancelWorkflow(task workflow.TaskFunc, dead workflow.DeadLetterDestination, timeout time.Duration) workflow.Definition {
	return workflow.Definition{
		Comment: "Cancel a pizza order (storage-first reference system)",
		StartAt: "CancelOrder",
		Timeout: timeout,
		States: map[string]workflow.State{
			"CancelOrder": workflow.Task{Run: task, Resource: "cancel-order", Timeout: 10 * time.Second,
				Retry: []workflow.Retrier{
					{ErrorEquals: lambdaServiceErrors, IntervalSeconds: 2, MaxAttempts: 6, BackoffRate: 2},
					{ErrorEquals: []string{"Database.Unavailable"}, IntervalSeconds: 1, MaxAttempts: 2, BackoffRate: 2},
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
			"SendToDLQ":           workflow.Task{Run: workflow.DeadLetterTask(dead), Resource: "dlq", Next: "CancelFailed"},
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
		Workers: s.cfg.Workers, Retry: storagefirst.RetryPolicy{Interval: s.cfg.RetryInterval, MaxAttempts: 3},
		Logger: s.cfg.Logger, OnProcessed: onDead, ShutdownTimeout: 10 * time.Second})
	if err != nil {
		return err
	}
	cancels, err := storagefirst.NewConsumer(storagefirst.ConsumerConfig{Queue: b.CancelQueue(), Handler: cancelHandler,
		Workers: 2, Retry: storagefirst.RetryPolicy{MaxAttempts: storagefirst.RetryNever}, Logger: s.cfg.Logger,
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

// Handler is the shop's HTTP API (traced when Config.Telemetry is set).
func (s *Shop) Handler() http.Handler { return s.handler }

// Mux is the shop's router, for a caller that adds routes (such as /metrics).
func (s *Shop) Mux() *http.ServeMux { return s.mux }

func (s *Shop) routes() error {
	s.mux.Handle("POST /orders", s.create)
	s.mux.Handle("PUT /orders", s.cancel)
	s.mux.Handle("POST /orders/{id}/cancel", s.cancel)
	s.mux.HandleFunc("GET /orders", s.list)
	s.mux.HandleFunc("GET /orders/{id}", s.get)
	s.mux.HandleFunc("GET /healthz", s.health)
	admin := func(h http.HandlerFunc) http.Handler { return console.RequireAuth(s.cfg.AdminAuth, s.cfg.Logger, h) }
	s.mux.Handle("GET /admin/stats", admin(s.stats))
	s.mux.Handle("POST /admin/dlq/replay", admin(s.replay))
	// The operator console; without credentials configured it refuses everything.
	var con http.Handler = admin(http.NotFound)
	if s.cfg.AdminAuth.BearerToken != "" || len(s.cfg.AdminAuth.Users) > 0 {
		c, err := console.New(console.Config{Auth: s.cfg.AdminAuth, Path: "/console", Title: "Pizza shop console",
			Logger: s.cfg.Logger, Workflows: s.cfg.Backend.Workflows(), Queues: []console.Queue{
				{Name: "create-order", Stats: s.cfg.Backend.OrdersQueue(), Dead: s.cfg.Backend.OrdersQueue()},
				{Name: "cancel-order", Stats: s.cfg.Backend.CancelQueue(), Dead: s.cfg.Backend.CancelQueue()}}})
		if err != nil {
			return err
		}
		con = c
	}
	s.mux.Handle("/console/", con)
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", ingest.ContentTypeProblem)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(ingest.Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail})
}

func (s *Shop) list(w http.ResponseWriter, r *http.Request) {
	limit := PageSizeDefault
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > PageSizeLimit {
			writeProblem(w, http.StatusBadRequest, fmt.Sprintf("limit is 1 to %d", PageSizeLimit))
			return
		}
		limit = n
	}
	orders, err := s.orders.List(r.Context(), r.URL.Query().Get("after"), limit)
	if err != nil {
		s.cfg.Logger.ErrorContext(r.Context(), "pizza: list orders", "error", err)
		writeProblem(w, http.StatusServiceUnavailable, "the orders could not be read")
		return
	}
	page := struct {
		Orders []Order `json:"orders"`
		Next   string  `json:"next,omitempty"`
	}{Orders: orders}
	if len(orders) == limit {
		page.Next = orders[len(orders)-1].ID
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Shop) get(w http.ResponseWriter, r *http.Request) {
	ord, err := s.orders.Get(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, ErrNotFound):
		writeProblem(w, http.StatusNotFound, "there is no such order")
	case err != nil:
		writeProblem(w, http.StatusServiceUnavailable, "the order could not be read")
	default:
		writeJSON(w, http.StatusOK, ord)
	}
}

func (s *Shop) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.cfg.Backend.Ping(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "store": s.cfg.Backend.Name()})
}

func (s *Shop) stats(w http.ResponseWriter, r *http.Request) {
	out := map[string]storagefirst.QueueStats{}
	for name, q := range map[string]Queue{"create-order": s.cfg.Backend.OrdersQueue(), "cancel-order": s.cfg.Backend.CancelQueue()} {
		st, err := q.Stats(r.Context())
		if err != nil {
			writeProblem(w, http.StatusServiceUnavailable, "stats could not be read")
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
		writeProblem(w, http.StatusBadRequest, "queue is create-order or cancel-order")
		return
	}
	sum, err := dlq.Replay(r.Context(), dlq.FromDeadLetters(q), nil, dlq.ReplayOptions{DryRun: r.URL.Query().Get("dry_run") == "true"})
	if err != nil {
		writeProblem(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, sum)
}
