package history

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// startSpan starts a span under ctx's span when that one is recorded
// (OpenTelemetry API; untraced callers make no spans).
func startSpan(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, noop.Span{}
	}
	return parent.TracerProvider().Tracer("ecode").Start(ctx, name, trace.WithAttributes(attrs...))
}

// observe ends a checkpoint's or restore's span and tells Observe.
func (s *Service) observe(op string, sp trace.Span, t0 time.Time, bytes int64, err error) {
	d := time.Since(t0)
	sp.SetAttributes(attribute.Int64("ecode.checkpoint.bytes", bytes))
	if err != nil {
		sp.SetStatus(codes.Error, op+" failed")
	}
	sp.End()
	if s.Observe != nil {
		s.Observe(op, d, bytes, err)
	}
}
