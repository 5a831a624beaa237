package runner

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Observer is told what the runner does (the server's metrics implement it).
type Observer interface {
	// SandboxStarted: a project's sandbox opened, taking d (err: it failed).
	SandboxStarted(d time.Duration, err error)
	// RunStarted: a project's run process started.
	RunStarted()
	// ProcessEnded: a process of a use (run, exec, agent) ended; reason is
	// one of sandbox's Reason constants, or "" when it exited by itself.
	ProcessEnded(use, reason string)
}

type noObserver struct{}

func (noObserver) SandboxStarted(time.Duration, error) {}
func (noObserver) RunStarted()                         {}
func (noObserver) ProcessEnded(string, string)         {}

// startSpan starts a span under ctx's span when that one is recorded.
func startSpan(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, noop.Span{}
	}
	return parent.TracerProvider().Tracer("ecode").Start(ctx, name, trace.WithAttributes(attrs...))
}
