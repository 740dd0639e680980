package sfotel

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// LogHandler wraps h: each record logged with a context gets trace_id and span_id
// from the context's span, and envelope_id, envelope_type, correlation_id and
// attempt from the envelope Middleware put there (ContextWithEnvelope).
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (l logHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	if ids, ok := ctx.Value(envelopeKey{}).(envelopeIDs); ok {
		r.AddAttrs(slog.String("envelope_id", ids.id), slog.String("envelope_type", ids.typ))
		if ids.correlationID != "" {
			r.AddAttrs(slog.String("correlation_id", ids.correlationID))
		}
		if ids.attempt > 0 {
			r.AddAttrs(slog.Int("attempt", ids.attempt))
		}
	}
	return l.Handler.Handle(ctx, r)
}

func (l logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{l.Handler.WithAttrs(attrs)}
}

func (l logHandler) WithGroup(name string) slog.Handler { return logHandler{l.Handler.WithGroup(name)} }
