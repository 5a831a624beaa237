// Package tracing builds the server's OpenTelemetry tracer provider: spans
// go over OTLP/HTTP to the collector the operator names (--otlp-endpoint),
// or, with none named, nowhere at all (a no-op provider whose spans cost a
// context value). Only the composition root imports it. The HTTP layer and
// the job queue start root spans with the provider they are given; every
// other package uses the OpenTelemetry API alone and takes its tracer from
// the span already in its context (trace.SpanFromContext(ctx).TracerProvider()),
// so work that no traced request or job started makes no spans.
package tracing

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Options configure a Provider.
type Options struct {
	// Endpoint is the collector's OTLP/HTTP URL (http:// or https://); the
	// path /v1/traces is added when the URL has none. Empty: no export.
	Endpoint string
	// Exporter, when set, receives the spans instead (tests: an in-memory
	// exporter), synchronously as each span ends.
	Exporter sdktrace.SpanExporter
	// Service and Version name this process in the spans' resource.
	Service, Version string
	// Node names this node among several sharing a store.
	Node string
	// SampleRatio is the fraction of traces kept (0 or ≥ 1: all); a span
	// whose parent is kept is kept, so a trace is whole or absent.
	SampleRatio float64
}

// Provider is the server's tracer provider and how to shut it down.
type Provider struct {
	trace.TracerProvider
	sdk *sdktrace.TracerProvider // nil when tracing is off
}

// New builds the provider: a batching OTLP/HTTP exporter to Endpoint, the
// Exporter given, or a no-op provider when neither is set.
func New(o Options) (*Provider, error) {
	exp := o.Exporter
	var opt sdktrace.TracerProviderOption
	switch {
	case exp != nil:
		opt = sdktrace.WithSyncer(exp)
	case o.Endpoint != "":
		u, err := url.Parse(o.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("otlp endpoint %q is not an http:// or https:// URL", o.Endpoint)
		}
		if u.Path == "" || u.Path == "/" {
			u.Path = "/v1/traces"
		}
		if exp, err = otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(u.String()),
			otlptracehttp.WithTimeout(10*time.Second)); err != nil {
			return nil, err
		}
		opt = sdktrace.WithBatcher(exp)
	default:
		return &Provider{TracerProvider: noop.NewTracerProvider()}, nil
	}
	if o.Service == "" {
		o.Service = "ecode"
	}
	sampler := sdktrace.AlwaysSample()
	if o.SampleRatio > 0 && o.SampleRatio < 1 {
		sampler = sdktrace.TraceIDRatioBased(o.SampleRatio)
	}
	tp := sdktrace.NewTracerProvider(opt, sdktrace.WithResource(sdkresource(o)), sdktrace.WithSampler(sdktrace.ParentBased(sampler)))
	return &Provider{TracerProvider: tp, sdk: tp}, nil
}

// Enabled reports whether spans are recorded and exported.
func (p *Provider) Enabled() bool { return p.sdk != nil }

// Shutdown exports the spans still buffered and stops the exporter.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p.sdk == nil {
		return nil
	}
	return p.sdk.Shutdown(ctx)
}

func sdkresource(o Options) *resource.Resource {
	attrs := []attribute.KeyValue{attribute.String("service.name", o.Service)}
	if o.Version != "" {
		attrs = append(attrs, attribute.String("service.version", o.Version))
	}
	if o.Node != "" {
		attrs = append(attrs, attribute.String("service.instance.id", o.Node))
	}
	return resource.NewSchemaless(attrs...)
}
