package sfotel

import (
	"context"
	"slices"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// Inject returns env with ctx's trace context written into its Metadata (its own
// copy of the metadata; env is left alone): only Config.MetadataFields
// (traceparent and tracestate by default), each value at most MetadataValueLimit
// bytes.
func (i *Instrumentation) Inject(ctx context.Context, env storagefirst.Envelope) storagefirst.Envelope {
	carrier := propagation.MapCarrier{}
	i.propagator.Inject(ctx, carrier)
	cloned := false
	for _, k := range i.fields {
		v := carrier[k]
		if v == "" || len(v) > MetadataValueLimit {
			continue
		}
		if !cloned {
			env, cloned = env.Clone(), true
			if env.Metadata == nil {
				env.Metadata = make(map[string]string, len(i.fields))
			}
		}
		env.Metadata[k] = v
	}
	return env
}

// Extract returns ctx carrying the trace context found in env's Metadata (as a
// remote span context), or ctx unchanged when there is none.
func (i *Instrumentation) Extract(ctx context.Context, env storagefirst.Envelope) context.Context {
	if len(env.Metadata) == 0 {
		return ctx
	}
	return i.propagator.Extract(ctx, propagation.MapCarrier(env.Metadata))
}

// MetadataHeaders are the HTTP headers of Config.MetadataFields (traceparent and
// tracestate by default): list them in ingest.FrontDoorConfig.MetadataHeaders so
// that a front door behind HTTP copies the trace context into each envelope.
func (i *Instrumentation) MetadataHeaders() []string { return slices.Clone(i.fields) }

// envelopeAttrs are the messaging attributes of one envelope.
func envelopeAttrs(queue string, env storagefirst.Envelope) []attribute.KeyValue {
	attrs := []attribute.KeyValue{
		AttrMessagingDestination.String(queue),
		AttrMessagingMessageID.String(env.ID),
		AttrEnvelopeType.String(env.Type),
	}
	if env.CorrelationID != "" {
		attrs = append(attrs, AttrMessagingConversationID.String(env.CorrelationID))
	}
	if env.Attempt > 0 {
		attrs = append(attrs, AttrAttempt.Int(env.Attempt))
	}
	return attrs
}

type envelopeKey struct{}

// ContextWithEnvelope returns ctx carrying env's IDs, for LogHandler. Middleware
// does this for the handlers it wraps.
func ContextWithEnvelope(ctx context.Context, env storagefirst.Envelope) context.Context {
	return context.WithValue(ctx, envelopeKey{}, envelopeIDs{id: env.ID, typ: env.Type,
		correlationID: env.CorrelationID, attempt: env.Attempt})
}

type envelopeIDs struct {
	id, typ, correlationID string
	attempt                int
}
