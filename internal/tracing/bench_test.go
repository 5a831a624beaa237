package tracing_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"ecode/internal/tracing"
)

type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// The inline cost of a request's span (start, name, four attributes, end)
// with tracing off and with the batching SDK (export discarded).
func BenchmarkRequestSpan(b *testing.B) {
	off, _ := tracing.New(tracing.Options{})
	on := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discard{}))
	defer on.Shutdown(context.Background())
	bare := sdktrace.NewTracerProvider() // spans made, not exported
	sampled := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discard{}), sdktrace.WithSampler(sdktrace.TraceIDRatioBased(0.1)))
	defer sampled.Shutdown(context.Background())
	for name, tp := range map[string]trace.TracerProvider{"off": off, "on": on, "no-export": bare, "sampled-10%": sampled} {
		b.Run(name, func(b *testing.B) {
			tr := tp.Tracer("ecode")
			b.ReportAllocs()
			for b.Loop() {
				_, sp := tr.Start(context.Background(), "GET", trace.WithSpanKind(trace.SpanKindServer),
					trace.WithAttributes(attribute.String("http.request.method", "GET"), attribute.String("ecode.request_id", "0123456789abcdef")))
				sp.SetName("GET /api/projects/{id}/files/{path...}")
				sp.SetAttributes(attribute.String("http.route", "GET /api/projects/{id}/files/{path...}"), attribute.Int("http.response.status_code", 200))
				sp.End()
			}
		})
	}
}
