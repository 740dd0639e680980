package sfotel

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// Middleware returns a handler middleware for the consumer of queue: each delivery
// runs in a consumer span ("process <queue>") that continues the trace found in
// the envelope's Metadata (the front door's or the sink's span is its parent) and
// links to it, with the messaging attributes, the envelope's type, attempt and
// correlation ID; a failure is recorded on it with its class, and a delivery of a
// replayed dead letter carries a "replayed" event. The handler's
// context carries the envelope for LogHandler, and the handler duration is
// recorded.
func (i *Instrumentation) Middleware(queue string) storagefirst.Middleware {
	return func(next storagefirst.Handler) storagefirst.Handler {
		h := &passingHandler{}
		h.fn = func(ctx context.Context, env storagefirst.Envelope) error {
			// The span wraps the delivery whole: an Idempotent behind it still
			// acknowledges in its handler's transaction (storagefirst.PassDelivery).
			defer storagefirst.PassDelivery(ctx, h, next)()
			parent := i.Extract(ctx, env)
			opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer),
				trace.WithAttributes(append([]attribute.KeyValue{i.system, AttrMessagingOperationType.String("process"),
					AttrMessagingOperationName.String("handle")}, envelopeAttrs(queue, env)...)...)}
			if sc := trace.SpanContextFromContext(parent); sc.IsValid() && sc.IsRemote() {
				opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc}))
			}
			ctx, span := i.tracer.Start(parent, "process "+queue, opts...)
			defer span.End()
			if at := env.Metadata[storagefirst.MetadataReplayedAt]; at != "" {
				// A replayed dead letter keeps its metadata, so this delivery continues
				// the original trace; the replay is an event on it.
				span.AddEvent("replayed", trace.WithAttributes(attribute.String("storagefirst.replayed_at", at)))
			}
			ctx = ContextWithEnvelope(ctx, env)
			start := time.Now()
			err := next.Handle(ctx, env)
			outcome := "ok"
			if err != nil {
				outcome = "error"
				class := storagefirst.Classify(err).String()
				span.RecordError(err, trace.WithAttributes(AttrErrorClass.String(class)))
				span.SetStatus(codes.Error, err.Error())
				span.SetAttributes(AttrErrorClass.String(class))
			}
			i.handlerDur.Record(ctx, time.Since(start).Seconds(),
				metric.WithAttributes(AttrQueue.String(queue), AttrOutcome.String(outcome)))
			return err
		}
		return h
	}
}

// passingHandler is Middleware's handler: a pointer, so that
// storagefirst.PassDelivery can recognise it as the handler a delivery was given to.
type passingHandler struct {
	fn func(context.Context, storagefirst.Envelope) error
}

// Handle runs the middleware.
func (h *passingHandler) Handle(ctx context.Context, env storagefirst.Envelope) error {
	return h.fn(ctx, env)
}

// OnProcessed returns a storagefirst.ConsumerConfig.OnProcessed for the consumer of
// queue that counts deliveries by action and outcome (ok, or error when the queue
// failed to record the action: Processed.AnswerErr), counts the dead letters
// actually written by queue, and, for a retry, a release, a lost
// lease or a dead-lettering, records a short "settle <queue>" span on the
// envelope's trace with an event naming what happened (and, for a retry, when it
// comes back). next, if not nil, is called afterwards.
func (i *Instrumentation) OnProcessed(queue string, next func(context.Context, storagefirst.Processed)) func(context.Context, storagefirst.Processed) {
	return func(ctx context.Context, p storagefirst.Processed) {
		q := AttrQueue.String(queue)
		outcome := "ok"
		if p.AnswerErr != nil {
			outcome = "error" // the queue did not record the action: the envelope comes back
		}
		i.processed.Add(ctx, 1, metric.WithAttributes(q, AttrAction.String(string(p.Action)), AttrOutcome.String(outcome)))
		if p.Action == storagefirst.ActionDeadLettered && p.AnswerErr == nil {
			// By queue only: the envelope type can be anything a producer sends
			// (an EventBridge DetailType), unbounded as a metric attribute.
			i.deadLettered.Add(ctx, 1, metric.WithAttributes(q))
		}
		if p.Action != storagefirst.ActionAcked {
			i.settle(ctx, queue, p)
		}
		if next != nil {
			next(ctx, p)
		}
	}
}

func (i *Instrumentation) settle(ctx context.Context, queue string, p storagefirst.Processed) {
	parent := i.Extract(context.WithoutCancel(ctx), p.Envelope)
	attrs := append([]attribute.KeyValue{i.system, AttrMessagingOperationType.String("settle"),
		AttrMessagingOperationName.String(string(p.Action)), AttrAction.String(string(p.Action))},
		envelopeAttrs(queue, p.Envelope)...)
	_, span := i.tracer.Start(parent, "settle "+queue, trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attrs...))
	defer span.End()
	evAttrs := []attribute.KeyValue{AttrAttempt.Int(p.Envelope.Attempt)}
	if p.Err != nil {
		evAttrs = append(evAttrs, attribute.String("exception.message", p.Err.Error()),
			AttrErrorClass.String(storagefirst.Classify(p.Err).String()))
	}
	if p.Action == storagefirst.ActionRetried {
		evAttrs = append(evAttrs, attribute.Float64("storagefirst.retry_in_seconds", p.RetryIn.Seconds()))
	}
	span.AddEvent(string(p.Action), trace.WithAttributes(evAttrs...))
	if p.AnswerErr != nil {
		span.RecordError(p.AnswerErr)
		span.SetStatus(codes.Error, p.AnswerErr.Error())
	}
}
