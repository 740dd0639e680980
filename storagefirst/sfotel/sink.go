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

// keyedPutter is the keyed put of ingest.KeyedSink (pgstore and sqlitestore
// queues), declared here so that sfotel does not depend on ingest.
type keyedPutter interface {
	PutKeyed(ctx context.Context, p storagefirst.KeyedPut) (storagefirst.KeyedResult, error)
}

// Sink wraps s: each Put runs in a producer span ("send <queue>") whose trace
// context is injected into every envelope's Metadata (copies; the caller's
// envelopes are left alone), and records the put latency (outcome ok or error) and
// the number of envelopes per Put. The envelopes keep their IDs, so a retried Put
// stays idempotent.
//
// When s also has PutKeyed (an ingest.KeyedSink: pgstore and sqlitestore queues),
// so does the returned Sink, traced and measured the same way with the trace
// context injected into p.Envelope, so that a front door over it keeps its
// Idempotency-Key deduplication. Other optional interfaces of s (a transactional
// put) are hidden.
func (i *Instrumentation) Sink(queue string, s storagefirst.Sink) storagefirst.Sink {
	base := tracedSink{i: i, queue: queue, s: s}
	if k, ok := s.(keyedPutter); ok {
		return tracedKeyedSink{tracedSink: base, k: k}
	}
	return base
}

type tracedSink struct {
	i     *Instrumentation
	queue string
	s     storagefirst.Sink
}

// Put stores envs through the wrapped sink in a producer span.
func (t tracedSink) Put(ctx context.Context, envs ...storagefirst.Envelope) error {
	ctx, span := t.start(ctx, envs)
	defer span.End()
	out := make([]storagefirst.Envelope, len(envs))
	for n, env := range envs {
		out[n] = t.i.Inject(ctx, env)
	}
	start := time.Now()
	err := t.s.Put(ctx, out...)
	t.finish(ctx, span, start, len(envs), err)
	return err
}

func (t tracedSink) start(ctx context.Context, envs []storagefirst.Envelope) (context.Context, trace.Span) {
	attrs := []attribute.KeyValue{t.i.system, AttrMessagingOperationType.String("send"),
		AttrMessagingOperationName.String("put"), AttrMessagingDestination.String(t.queue)}
	if len(envs) == 1 {
		attrs = append(attrs, envelopeAttrs(t.queue, envs[0])...)
	} else {
		attrs = append(attrs, AttrMessagingBatchCount.Int(len(envs)))
	}
	return t.i.tracer.Start(ctx, "send "+t.queue, trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attrs...))
}

func (t tracedSink) finish(ctx context.Context, span trace.Span, start time.Time, n int, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	q := AttrQueue.String(t.queue)
	t.i.putDuration.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(q, AttrOutcome.String(outcome)))
	t.i.putBatch.Record(ctx, int64(n), metric.WithAttributes(q))
}

type tracedKeyedSink struct {
	tracedSink
	k keyedPutter
}

// PutKeyed stores p through the wrapped sink's PutKeyed in a producer span, with
// the span's trace context in p.Envelope's Metadata. A repeat of a key (nothing
// stored) is marked on the span with the "storagefirst.idempotency.replayed"
// attribute.
func (t tracedKeyedSink) PutKeyed(ctx context.Context, p storagefirst.KeyedPut) (storagefirst.KeyedResult, error) {
	ctx, span := t.start(ctx, []storagefirst.Envelope{p.Envelope})
	defer span.End()
	p.Envelope = t.i.Inject(ctx, p.Envelope)
	start := time.Now()
	res, err := t.k.PutKeyed(ctx, p)
	if err == nil {
		span.SetAttributes(attribute.Bool("storagefirst.idempotency.replayed", !res.Stored))
	}
	t.finish(ctx, span, start, 1, err)
	return res, err
}
