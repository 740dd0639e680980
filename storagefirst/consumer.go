package storagefirst

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Defaults of ConsumerConfig.
const (
	// ConsumerWorkersDefault is the number of envelopes handled at once.
	ConsumerWorkersDefault = 10
	// ConsumerLeaseDefault is the lease taken on each claimed envelope. The consumer
	// extends it every third of its length while the handler runs.
	ConsumerLeaseDefault = 30 * time.Second
	// ConsumerPollIntervalDefault is how often an idle consumer looks for work when
	// the queue cannot wake it (and, as a fallback, when it can).
	ConsumerPollIntervalDefault = time.Second
	// ConsumerHandlerTimeoutDefault bounds each handler call.
	ConsumerHandlerTimeoutDefault = 5 * time.Minute
	// ConsumerMaxUnansweredDeliveriesDefault is how many deliveries of an envelope
	// may go unanswered (their leases expired: the worker crashed, was killed or
	// hung) before the consumer dead-letters it unrun, once it is also past the
	// RetryPolicy's attempts. More than one, so that one crash of a process does
	// not dead-letter the healthy envelopes it held under a policy without retries.
	ConsumerMaxUnansweredDeliveriesDefault = 3
	// ConsumerShutdownTimeoutDefault is how long Run waits, once its context ends,
	// for in-flight handlers to finish before cancelling them (they are released).
	ConsumerShutdownTimeoutDefault = 30 * time.Second
	// consumerAbandonAfter is how long Run waits, after cancelling the handlers at
	// shutdown, for those that ignore cancellation.
	consumerAbandonAfter = 5 * time.Second
	// consumerAnswerTimeout bounds each Ack/Retry/Release/DeadLetter call.
	consumerAnswerTimeout = 10 * time.Second
	// consumerClaimTimeout bounds each Claim. A claim runs on a context that the
	// shutdown does not cancel, so that a claim the store committed is never lost
	// to a cancellation (its envelopes would stay leased to nobody); this bound is
	// how long a shutdown may wait for one.
	consumerClaimTimeout = 10 * time.Second
)

// Action is what the consumer did with a handled envelope.
type Action string

const (
	// ActionAcked: the handler succeeded; the envelope left the queue.
	ActionAcked Action = "acked"
	// ActionRetried: a retryable failure; the envelope comes back after RetryIn.
	ActionRetried Action = "retried"
	// ActionReleased: the handler was interrupted; the envelope is due again now.
	ActionReleased Action = "released"
	// ActionDeadLettered: a permanent failure, or retries used up.
	ActionDeadLettered Action = "dead_lettered"
	// ActionLeaseLost: the lease ran out (or was taken) before the answer; the
	// envelope is redelivered elsewhere.
	ActionLeaseLost Action = "lease_lost"
)

// Processed reports one handled delivery to ConsumerConfig.OnProcessed.
type Processed struct {
	Envelope Envelope
	Action   Action
	// Err is the handler's error (nil when acked).
	Err error
	// AnswerErr is the queue's error when recording the action failed.
	AnswerErr error
	// RetryIn is the delay of a scheduled retry.
	RetryIn  time.Duration
	Duration time.Duration
}

// ConsumerConfig configures a Consumer. Queue and Handler are required; every other
// zero field means its documented default.
type ConsumerConfig struct {
	Queue   Queue
	Handler Handler
	// Workers bounds the envelopes handled at once. Default ConsumerWorkersDefault.
	Workers int
	// BatchSize bounds the envelopes claimed by one Claim. Default Workers.
	BatchSize int
	// Lease is the lease taken on each envelope. Default ConsumerLeaseDefault.
	Lease time.Duration
	// HandlerTimeout bounds each handler call: its context ends then, and the lease
	// is no longer extended, so even a handler that ignores its context cannot hold
	// an envelope forever. Default ConsumerHandlerTimeoutDefault; negative means no
	// bound.
	HandlerTimeout time.Duration
	// PollInterval: see ConsumerPollIntervalDefault.
	PollInterval time.Duration
	// ShutdownTimeout: see ConsumerShutdownTimeoutDefault.
	ShutdownTimeout time.Duration
	// Retry schedules durable retries of retryable failures; when it declines, the
	// envelope is dead-lettered. Permanent failures are dead-lettered at once.
	Retry RetryPolicy
	// MaxUnansweredDeliveries bounds the deliveries of an envelope whose leases
	// expired unanswered: a delivery past Retry's attempts that follows this many
	// of them is dead-lettered without running the handler (the envelope is
	// probably poison). Deliveries within Retry's attempts always run. Default
	// ConsumerMaxUnansweredDeliveriesDefault.
	MaxUnansweredDeliveries int
	// Clock stamps failures and measures polling. Default SystemClock.
	Clock Clock
	// Logger logs failures and queue errors. Default slog.Default().
	Logger *slog.Logger
	// OnProcessed, if set, is called after each delivery is answered (metrics).
	OnProcessed func(ctx context.Context, p Processed)
	// FailAfter, if positive, makes Run give up once claims have failed, without a
	// success in between, for this long (a missing schema, a dead database): it
	// shuts down and returns an error wrapping ErrClaimFailing. Zero, the default,
	// means Run goes on retrying (with backoff) until it is stopped; Health and
	// OnHealthChange report the failures either way.
	FailAfter time.Duration
	// OnHealthChange, if set, is called when the consumer's health changes: when
	// Run starts and stops, when claims start failing and when they recover. Run
	// waits for each call to return (keep it quick), but for one during which the
	// consumer is stopped: so the hook may call Shutdown. Calls never overlap, and
	// the last one (Running false) has returned when Run returns.
	OnHealthChange func(ctx context.Context, h ConsumerHealth)
}

// Consumer drives a Queue: it claims envelopes under leases, runs the Handler on a
// bounded pool of workers, extends leases while handlers run, and answers each
// delivery: Ack on success, Retry after the RetryPolicy's delay on a retryable
// failure, DeadLetter when retries are used up or the failure is permanent, and
// Release when the handler was interrupted. A delivery past the RetryPolicy's
// attempts that follows MaxUnansweredDeliveries deliveries whose leases expired
// unanswered (the worker crashed, was killed or hung) is dead-lettered without
// running the handler, with a failure coded FailureCodeLeaseExpired, so a poison
// envelope cannot kill workers forever.
//
// The handler's context carries the queue and the lease of its delivery
// (DeliveryLeaseFromContext): a handler whose effect lives in the queue's database
// can acknowledge the delivery in the transaction that applies the effect and say
// so with MarkAcked (pgstore's and sqlitestore's transactional idempotency
// completions do), and the Consumer then does not acknowledge it again.
//
// Health reports whether its claims succeed; Shutdown stops it within the caller's
// deadline.
type Consumer struct {
	cfg ConsumerConfig

	mu     sync.Mutex
	closed bool         // Shutdown was called
	run    *consumerRun // the Run in progress, if any
	health ConsumerHealth
}

// NewConsumer validates cfg (reporting every problem) and returns a Consumer.
func NewConsumer(cfg ConsumerConfig) (*Consumer, error) {
	var errs []error
	if cfg.Queue == nil {
		errs = append(errs, errors.New("storagefirst: ConsumerConfig.Queue is required"))
	}
	if cfg.Handler == nil {
		errs = append(errs, errors.New("storagefirst: ConsumerConfig.Handler is required"))
	}
	for _, f := range [...]struct {
		name string
		v    int64
	}{{"Workers", int64(cfg.Workers)}, {"BatchSize", int64(cfg.BatchSize)}, {"Lease", int64(cfg.Lease)},
		{"PollInterval", int64(cfg.PollInterval)},
		{"ShutdownTimeout", int64(cfg.ShutdownTimeout)}, {"FailAfter", int64(cfg.FailAfter)},
		{"MaxUnansweredDeliveries", int64(cfg.MaxUnansweredDeliveries)}} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("storagefirst: ConsumerConfig.%s is negative", f.name))
		}
	}
	if cfg.Lease > 0 && cfg.Lease < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("storagefirst: ConsumerConfig.Lease %v is below 10ms", cfg.Lease))
	}
	if err := cfg.Retry.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Workers == 0 {
		cfg.Workers = ConsumerWorkersDefault
	}
	if cfg.BatchSize == 0 || cfg.BatchSize > cfg.Workers {
		cfg.BatchSize = cfg.Workers
	}
	if cfg.Lease == 0 {
		cfg.Lease = ConsumerLeaseDefault
	}
	if cfg.HandlerTimeout == 0 {
		cfg.HandlerTimeout = ConsumerHandlerTimeoutDefault
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = ConsumerPollIntervalDefault
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = ConsumerShutdownTimeoutDefault
	}
	if cfg.MaxUnansweredDeliveries == 0 {
		cfg.MaxUnansweredDeliveries = ConsumerMaxUnansweredDeliveriesDefault
	}
	cfg.Clock = clockOrSystem(cfg.Clock)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Consumer{cfg: cfg}, nil
}

// Run consumes until ctx ends or Shutdown is called, then shuts down gracefully:
// it stops claiming, waits for in-flight handlers (up to ShutdownTimeout after ctx
// ends, or until the context given to Shutdown ends), then cancels those still
// running, whose envelopes are released for another delivery. Envelopes claimed
// while the shutdown began are released unhandled, so once Run returns, nothing is
// left leased by it (but for handlers that ignore cancellation).
//
// Run returns nil after a shutdown, ErrClosed when Shutdown was called before, and
// an error wrapping ErrClaimFailing and the last claim error when claims failed
// without a success for FailAfter. Other queue errors are logged and retried (see
// Health). Run may be called again after it returns, but not concurrently with
// itself.
func (c *Consumer) Run(ctx context.Context) error {
	r, err := c.begin(ctx)
	if err != nil {
		return err
	}
	defer c.end(ctx, r)
	cfg := c.cfg
	handlerBase, cancelHandlers := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHandlers()
	loop := r.loop

	var wake <-chan struct{}
	if w, ok := cfg.Queue.(Waker); ok {
		wake = w.Wake(loop)
	}
	slots := make(chan struct{}, cfg.Workers)
	var wg sync.WaitGroup
	var runErr error
	backlog := false // the last claim filled its batch: there is more waiting
	for loop.Err() == nil {
		// Take one free slot (waiting for it), then any more that are free. With a
		// backlog, wait for half a batch of free slots, so that claims stay batched
		// instead of following every finished handler one by one.
		want := 1
		if backlog {
			want = max(cfg.BatchSize/2, 1)
		}
		n := 0
		for n < want && loop.Err() == nil {
			select {
			case slots <- struct{}{}:
				n++
			case <-loop.Done():
			}
		}
		if loop.Err() != nil {
			for range n {
				<-slots
			}
			continue
		}
		for n < cfg.BatchSize {
			select {
			case slots <- struct{}{}:
				n++
				continue
			default:
			}
			break
		}
		ds, err := c.claim(loop, n)
		for range n - len(ds) {
			<-slots
		}
		backlog = err == nil && len(ds) == n
		failures, failing := 0, time.Duration(0)
		if err != nil {
			failures, failing = c.claimFailed(loop, r, err)
			cfg.Logger.ErrorContext(loop, "storagefirst: claim failed", "error", err, "failures", failures, "failing_for", failing)
			if cfg.FailAfter > 0 && failing >= cfg.FailAfter {
				runErr = fmt.Errorf("%w for %v (%d claims in a row): %w", ErrClaimFailing, failing, failures, err)
				break
			}
		} else {
			c.claimSucceeded(loop, r)
		}
		for _, d := range ds {
			wg.Add(1)
			go func() {
				defer func() { <-slots; wg.Done() }()
				c.process(handlerBase, d)
			}()
		}
		if len(ds) == 0 {
			wait := cfg.PollInterval
			if failures > 0 {
				wait = min(cfg.PollInterval*time.Duration(1<<min(failures, 6)), time.Minute)
				if cfg.FailAfter > 0 {
					wait = min(wait, cfg.FailAfter-failing)
				}
			}
			select {
			case <-loop.Done():
			case <-wake:
			case <-cfg.Clock.After(wait):
			}
		}
	}
	// Every slot still taken is a handler still running.
	c.drain(ctx, r, &wg, len(slots), cancelHandlers)
	return runErr
}

// process handles one delivery and answers the queue.
func (c *Consumer) process(base context.Context, d Delivery) {
	cfg := c.cfg
	start := cfg.Clock.Now()
	env := d.Envelope
	ctx, cancel := context.WithCancelCause(base)
	defer cancel(nil)
	if cfg.HandlerTimeout > 0 {
		var cancelT context.CancelFunc
		ctx, cancelT = context.WithTimeout(ctx, cfg.HandlerTimeout)
		defer cancelT()
	}

	lease := d.Lease
	herr := exhaustedByExpiry(cfg.Retry, cfg.MaxUnansweredDeliveries, d)
	poison := herr != nil
	ackedInTx := false
	if !poison {
		lease, ackedInTx, herr = c.handle(ctx, cancel, d)
	}

	p := Processed{Envelope: env, Err: herr}
	actx, acancel := context.WithTimeout(context.WithoutCancel(base), consumerAnswerTimeout)
	defer acancel()
	switch {
	case poison:
		f := NewFailure(env.Attempt, cfg.Clock.Now(), herr)
		f.Code = FailureCodeLeaseExpired
		p.Action, p.AnswerErr = ActionDeadLettered, cfg.Queue.DeadLetter(actx, lease, f)
	case herr == nil && ackedInTx:
		// Acknowledged in the handler's own transaction (MarkAcked), which
		// committed: nothing left to answer.
		p.Action = ActionAcked
	case errors.Is(context.Cause(ctx), ErrLeaseLost):
		p.Action = ActionLeaseLost
	case herr == nil:
		p.Action, p.AnswerErr = ActionAcked, cfg.Queue.Ack(actx, lease)
	case Classify(herr) == ClassCanceled, base.Err() != nil && errors.Is(herr, context.Canceled):
		// Interrupted, not failed; also when a middleware marked the shutdown's
		// cancellation retryable (an idempotency wait cut short, say).
		p.Action, p.AnswerErr = ActionReleased, cfg.Queue.Release(actx, lease)
	case cfg.Retry.ShouldRetry(herr, env.Attempt-1):
		p.Action, p.RetryIn = ActionRetried, cfg.Retry.Delay(env.Attempt, herr)
		p.AnswerErr = cfg.Queue.Retry(actx, lease, p.RetryIn, NewFailure(env.Attempt, cfg.Clock.Now(), herr))
	default:
		p.Action = ActionDeadLettered
		p.AnswerErr = cfg.Queue.DeadLetter(actx, lease, NewFailure(env.Attempt, cfg.Clock.Now(), herr))
	}
	if errors.Is(p.AnswerErr, ErrLeaseLost) {
		p.Action = ActionLeaseLost
	}
	p.Duration = cfg.Clock.Now().Sub(start)
	c.log(ctx, p)
	if cfg.OnProcessed != nil {
		cfg.OnProcessed(ctx, p)
	}
}

// handle runs the handler on d, extending its lease meanwhile and cancelling ctx
// (with ErrLeaseLost as the cause) if the lease is lost. The handler's context
// carries the queue and the lease (WithDeliveryLease). It returns the lease as last
// extended, whether the handler acknowledged the delivery in its own transaction
// (MarkAcked), and the handler's error.
func (c *Consumer) handle(ctx context.Context, cancel context.CancelCauseFunc, d Delivery) (Lease, bool, error) {
	cfg := c.cfg
	var (
		lease    = d.Lease
		leaseMu  sync.Mutex
		renewEnd = make(chan struct{})
		renewed  = make(chan struct{})
	)
	hctx, holder := withDeliveryHolder(ctx, cfg.Queue, d.Lease, cfg.Handler)
	go func() {
		defer close(renewed)
		for {
			select {
			case <-renewEnd:
				return
			case <-ctx.Done(): // timed out or shutting down: let the lease run out
				return
			case <-cfg.Clock.After(cfg.Lease / 3):
			}
			leaseMu.Lock()
			// Bounded by what is left of the lease when an extension is due: a
			// call that outlasts it is too late, and must not hold the handler's
			// answer back.
			ectx, ecancel := context.WithTimeout(ctx, cfg.Lease-cfg.Lease/3)
			l, err := cfg.Queue.Extend(ectx, lease, cfg.Lease)
			ecancel()
			if err == nil {
				lease = l
				holder.extended(l)
			}
			leaseMu.Unlock()
			if errors.Is(err, ErrLeaseLost) {
				if !holder.acked.Load() {
					cancel(err)
				}
				// else the handler's transaction acknowledged the delivery (the
				// envelope is gone once it commits): nothing left to hold.
				return
			}
			if err != nil && ctx.Err() == nil {
				cfg.Logger.WarnContext(ctx, "storagefirst: lease extension failed", "envelope_id", d.Envelope.ID, "error", err)
			}
		}
	}()

	herr := safeHandle(hctx, cfg.Handler, d.Envelope)
	close(renewEnd)
	<-renewed
	return lease, holder.acked.Load(), herr
}

func (c *Consumer) log(ctx context.Context, p Processed) {
	attrs := []any{"envelope_id", p.Envelope.ID, "type", p.Envelope.Type, "attempt", p.Envelope.Attempt,
		"action", p.Action, "duration", p.Duration}
	if p.Err != nil {
		attrs = append(attrs, "error", p.Err, "class", Classify(p.Err).String())
	}
	switch {
	case p.AnswerErr != nil && p.Action != ActionLeaseLost:
		c.cfg.Logger.ErrorContext(ctx, "storagefirst: answering the queue failed; the lease will expire and the envelope be redelivered",
			append(attrs, "answer_error", p.AnswerErr)...)
	case p.Action == ActionDeadLettered, p.Action == ActionLeaseLost:
		c.cfg.Logger.WarnContext(ctx, "storagefirst: envelope "+string(p.Action), attrs...)
	case p.Action == ActionRetried:
		c.cfg.Logger.InfoContext(ctx, "storagefirst: envelope retried", append(attrs, "retry_in", p.RetryIn)...)
	default:
		c.cfg.Logger.DebugContext(ctx, "storagefirst: envelope "+string(p.Action), attrs...)
	}
}

// PanicError is a handler panic turned into a (retryable) error.
type PanicError struct {
	Value any
}

// Error says what the handler panicked with.
func (e *PanicError) Error() string {
	return fmt.Sprintf("storagefirst: handler panicked: %v", e.Value)
}

func safeHandle(ctx context.Context, h Handler, env Envelope) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v}
		}
	}()
	return h.Handle(ctx, env)
}
