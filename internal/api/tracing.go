package api

import (
	"cmp"
	"context"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// tracerOf is the tracer of request spans, or nil when tracing is off (no
// provider, a no-op one, or one that says it is not enabled): then a
// request makes no span at all, not even a no-op one.
func tracerOf(tp trace.TracerProvider) trace.Tracer {
	if tp == nil {
		return nil
	}
	if _, ok := tp.(noop.TracerProvider); ok {
		return nil
	}
	if e, ok := tp.(interface{ Enabled() bool }); ok && !e.Enabled() {
		return nil
	}
	return tp.Tracer("ecode")
}

// startRequestSpan starts the span of one request (a WebSocket's lasts as
// long as its session): named by method until the route is known.
func (s *Server) startRequestSpan(ctx context.Context, r *http.Request, requestID string) (context.Context, trace.Span) {
	return s.tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.request.method", r.Method), attribute.String("ecode.request_id", requestID)))
}

// endRequestSpan names the span by its route pattern, records the status
// and the user, ends it and returns its trace id ("" when not traced).
func endRequestSpan(span trace.Span, r *http.Request, ri *reqInfo, status int) string {
	if !span.IsRecording() {
		span.End()
		return ""
	}
	route := cmp.Or(ri.route, "other")
	span.SetName(route)
	span.SetAttributes(attribute.String("http.route", route), attribute.Int("http.response.status_code", status))
	if ri.userID != "" {
		span.SetAttributes(attribute.String("enduser.id", ri.userID))
	}
	if websocketUpgrade(r) {
		span.SetAttributes(attribute.Bool("ecode.websocket", true))
	}
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
	span.End()
	return span.SpanContext().TraceID().String()
}

func websocketUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// traceID is the id of the trace ctx's request is in, or "".
func traceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return ""
	}
	return sc.TraceID().String()
}

// markSpanError links the request's span to the error report of its 5xx
// answer (the report's group).
func markSpanError(ctx context.Context, code, group string) {
	span := trace.SpanFromContext(ctx)
	span.SetAttributes(attribute.String("ecode.error.code", code), attribute.String("ecode.error_group", group))
}
