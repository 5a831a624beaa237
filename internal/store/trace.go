package store

import (
	"context"
	"errors"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// span starts a span for one statement under ctx's span, when that one is
// recorded: its name and attributes say the engine and the statement's
// kind (SELECT, INSERT, ...), never its arguments. Without a recorded
// parent it costs nothing.
func (s *Store) span(ctx context.Context, query string) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, noop.Span{}
	}
	kind := statementKind(query)
	return parent.TracerProvider().Tracer("ecode").Start(ctx, "store "+kind, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("db.system.name", string(s.engine)), attribute.String("db.operation.name", kind),
			attribute.Bool("ecode.db.in_tx", s.tx != nil)))
}

// endSpan ends sp, marking it failed when err is a database failure (not
// ErrNotFound, which is an answer).
func endSpan(sp trace.Span, err error) {
	if err != nil && !errors.Is(err, ErrNotFound) {
		sp.SetStatus(codes.Error, "statement failed")
	}
	sp.End()
}

// statementKind is the first word of a statement, upper-cased (WITH
// queries count as SELECT unless they write).
func statementKind(query string) string {
	q := strings.TrimSpace(query)
	end := strings.IndexAny(q, " \t\n(")
	if end < 0 {
		end = len(q)
	}
	kind := strings.ToUpper(q[:end])
	if kind == "WITH" {
		kind = "SELECT"
		for _, w := range []string{"INSERT", "UPDATE", "DELETE"} {
			if strings.Contains(strings.ToUpper(q), w+" ") {
				return w
			}
		}
	}
	return kind
}
