package agent

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Spans of the loop (OpenTelemetry API; the tracer is the one of the span
// the caller's context carries, so an untraced caller makes no spans).
// Their attributes are names and numbers only: never prompt or output
// text, tool inputs or keys.

func startSpan(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, noop.Span{}
	}
	return parent.TracerProvider().Tracer("ecode").Start(ctx, name, trace.WithAttributes(attrs...))
}

// usageAttrs are a call's (or a turn's) token counts.
func usageAttrs(u Usage) []attribute.KeyValue {
	return []attribute.KeyValue{
		attribute.Int64("gen_ai.usage.input_tokens", u.InputTokens),
		attribute.Int64("gen_ai.usage.output_tokens", u.OutputTokens),
		attribute.Int64("gen_ai.usage.cache_read_tokens", u.CacheReadTokens),
		attribute.Int64("gen_ai.usage.cache_write_tokens", u.CacheWriteTokens+u.CacheWrite1hTokens),
	}
}

// endCallSpan records one model call's outcome.
func endCallSpan(sp trace.Span, resp *Response, err error) {
	if err != nil {
		kind := "error"
		if pe, ok := asProviderError(err); ok {
			kind = string(pe.Kind)
		}
		sp.SetAttributes(attribute.String("error.type", kind))
		sp.SetStatus(codes.Error, kind)
	} else if resp != nil {
		sp.SetAttributes(usageAttrs(resp.Usage)...)
		sp.SetAttributes(attribute.StringSlice("gen_ai.response.finish_reasons", []string{resp.StopReason}))
	}
	sp.End()
}

// endTurnSpan records a turn's outcome.
func endTurnSpan(sp trace.Span, res *Result) {
	if res != nil {
		sp.SetAttributes(usageAttrs(res.Metrics.Usage)...)
		sp.SetAttributes(attribute.String("ecode.agent.stop_reason", string(res.Stop)),
			attribute.Int("ecode.agent.steps", res.Metrics.Steps), attribute.Float64("ecode.agent.cost_usd", res.Metrics.CostUSD))
		if res.Stop == StopError {
			sp.SetStatus(codes.Error, string(res.Stop))
		}
	}
	sp.End()
}
