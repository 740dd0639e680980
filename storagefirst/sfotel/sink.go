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

// Sink wraps s: each Put runs in a producer span ("send <queue>") whose trace
// context is injected into every envelope's Metadata (copies; the caller's
// envelopes are left alone), and records the put latency (outcome ok or error) and
// the number of envelopes per Put. The envelopes keep their IDs, so a retried Put
// stays idempotent. The wrapper is a plain Sink: it hides any optional interface
// of s (a keyed or transactional put); where a front door needs one, leave its
// sink unwrapped and let HTTP and MetadataHeaders carry the trace instead.
func (i *Instrumentation) Sink(queue string, s storagefirst.Sink) storagefirst.Sink {
	return storagefirst.SinkFunc(func(ctx context.Context, envs ...storagefirst.Envelope) error {
		attrs := []attribute.KeyValue{i.system, AttrMessagingOperationType.String("send"),
			AttrMessagingOperationName.String("put"), AttrMessagingDestination.String(queue)}
		if len(envs) == 1 {
			attrs = append(attrs, envelopeAttrs(queue, envs[0])...)
		} else {
			attrs = append(attrs, AttrMessagingBatchCount.Int(len(envs)))
		}
		ctx, span := i.tracer.Start(ctx, "send "+queue, trace.WithSpanKind(trace.SpanKindProducer),
			trace.WithAttributes(attrs...))
		defer span.End()
		out := make([]storagefirst.Envelope, len(envs))
		for n, env := range envs {
			out[n] = i.Inject(ctx, env)
		}
		start := time.Now()
		err := s.Put(ctx, out...)
		outcome := "ok"
		if err != nil {
			outcome = "error"
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		q := AttrQueue.String(queue)
		i.putDuration.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(q, AttrOutcome.String(outcome)))
		i.putBatch.Record(ctx, int64(len(envs)), metric.WithAttributes(q))
		return err
	})
}
