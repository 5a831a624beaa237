package jobs

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Trace context rides in a job's metadata (W3C traceparent/tracestate
// under metaKey): the enqueueing request's trace continues in the job, on
// whichever node works it.
const metaKey = "trace"

// tracingMiddleware carries trace context into jobs and makes a span of
// every attempt.
type tracingMiddleware struct {
	river.MiddlewareDefaults
	tracer trace.Tracer
}

func (m *tracingMiddleware) InsertMany(ctx context.Context, many []*rivertype.JobInsertParams,
	doInner func(context.Context) ([]*rivertype.JobInsertResult, error)) ([]*rivertype.JobInsertResult, error) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return doInner(ctx)
	}
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	for _, p := range many {
		meta := map[string]any{}
		if len(p.Metadata) > 0 {
			if err := json.Unmarshal(p.Metadata, &meta); err != nil {
				continue // not an object: leave it alone
			}
		}
		meta[metaKey] = map[string]string(carrier)
		if b, err := json.Marshal(meta); err == nil {
			p.Metadata = b
		}
	}
	return doInner(ctx)
}

func (m *tracingMiddleware) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	var meta struct {
		Trace map[string]string `json:"trace"`
	}
	if len(job.Metadata) > 0 && json.Unmarshal(job.Metadata, &meta) == nil && meta.Trace != nil {
		ctx = propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier(meta.Trace))
	}
	ctx, sp := m.tracer.Start(ctx, "job "+job.Kind, trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.String("ecode.job.kind", job.Kind), attribute.String("ecode.job.id", strconv.FormatInt(job.ID, 10)),
			attribute.Int("ecode.job.attempt", job.Attempt)))
	defer sp.End()
	err := doInner(ctx)
	if err != nil {
		sp.SetStatus(codes.Error, "job failed")
	}
	return err
}
