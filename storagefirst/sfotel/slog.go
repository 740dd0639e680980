package sfotel

import (
	"context"
	"log/slog"
	"slices"

	"go.opentelemetry.io/otel/trace"
)

// LogHandler wraps h: each record logged with a context gets trace_id and span_id
// from the context's span, and envelope_id, envelope_type, correlation_id and
// attempt from the envelope Middleware put there (ContextWithEnvelope). The IDs
// are always top-level attributes, also under a logger's WithGroup.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{root: h, h: h} }

// logOp is one WithGroup (group set) or WithAttrs call, replayed on the root
// handler after the IDs when groups are open.
type logOp struct {
	group string
	attrs []slog.Attr
}

type logHandler struct {
	root    slog.Handler // h without the calls in ops
	ops     []logOp
	h       slog.Handler // root with ops applied
	grouped bool         // ops opens a group
}

func (l logHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return l.h.Enabled(ctx, level)
}

func (l logHandler) Handle(ctx context.Context, r slog.Record) error {
	var ids []slog.Attr
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		ids = append(ids, slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	if e, ok := ctx.Value(envelopeKey{}).(envelopeIDs); ok {
		ids = append(ids, slog.String("envelope_id", e.id), slog.String("envelope_type", e.typ))
		if e.correlationID != "" {
			ids = append(ids, slog.String("correlation_id", e.correlationID))
		}
		if e.attempt > 0 {
			ids = append(ids, slog.Int("attempt", e.attempt))
		}
	}
	if len(ids) == 0 {
		return l.h.Handle(ctx, r)
	}
	if !l.grouped {
		r.AddAttrs(ids...)
		return l.h.Handle(ctx, r)
	}
	// A record's attributes go into the open group: put the IDs on the root,
	// before the groups, instead.
	h := l.root.WithAttrs(ids)
	for _, op := range l.ops {
		if op.group != "" {
			h = h.WithGroup(op.group)
		} else {
			h = h.WithAttrs(op.attrs)
		}
	}
	return h.Handle(ctx, r)
}

func (l logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return l
	}
	return logHandler{root: l.root, ops: append(slices.Clip(l.ops), logOp{attrs: attrs}),
		h: l.h.WithAttrs(attrs), grouped: l.grouped}
}

func (l logHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return l
	}
	return logHandler{root: l.root, ops: append(slices.Clip(l.ops), logOp{group: name}),
		h: l.h.WithGroup(name), grouped: true}
}
