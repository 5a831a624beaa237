package tracing_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"ecode/internal/tracing"
)

// Spans go over OTLP/HTTP (protobuf) to the collector named, with the
// path /v1/traces added, and Shutdown sends what was still buffered.
func TestExportsOverOTLPHTTP(t *testing.T) {
	got := make(chan *collectortrace.ExportTraceServiceRequest, 10)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("export to %s as %s", r.URL.Path, r.Header.Get("Content-Type"))
		}
		b, _ := io.ReadAll(r.Body)
		var req collectortrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &req); err != nil {
			t.Errorf("decode export: %v", err)
		}
		got <- &req
		w.Header().Set("Content-Type", "application/x-protobuf")
		resp, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Write(resp)
	}))
	defer rcv.Close()

	tp, err := tracing.New(tracing.Options{Endpoint: rcv.URL, Version: "test", Node: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	if !tp.Enabled() {
		t.Fatal("a provider with an endpoint is not enabled")
	}
	ctx, parent := tp.Tracer("test").Start(context.Background(), "GET /api/x")
	_, child := tp.Tracer("test").Start(ctx, "store SELECT")
	child.End()
	parent.End()
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	var names []string
	var service string
	ids := map[string]string{} // span name → parent span id
	for len(got) > 0 {
		req := <-got
		for _, rs := range req.ResourceSpans {
			for _, a := range rs.Resource.Attributes {
				if a.Key == "service.name" {
					service = a.Value.GetStringValue()
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					names = append(names, s.Name)
					ids[s.Name] = string(s.ParentSpanId)
					if s.Name == "GET /api/x" {
						ids["parent id"] = string(s.SpanId)
					}
				}
			}
		}
	}
	if len(names) != 2 || service != "ecode" {
		t.Fatalf("collector got spans %v of service %q", names, service)
	}
	if ids["store SELECT"] != ids["parent id"] || ids["GET /api/x"] != "" {
		t.Errorf("parent links: %q", ids)
	}
}

// Without an endpoint the provider is a no-op: nothing is recorded.
func TestOffByDefault(t *testing.T) {
	tp, err := tracing.New(tracing.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, sp := tp.Tracer("test").Start(context.Background(), "x")
	if tp.Enabled() || sp.IsRecording() || sp.SpanContext().IsValid() {
		t.Errorf("tracing off, yet enabled %v recording %v", tp.Enabled(), sp.IsRecording())
	}
	if _, err := tracing.New(tracing.Options{Endpoint: "collector:4318"}); err == nil {
		t.Error("an endpoint without a scheme was taken")
	}
}

// With a sample ratio, a trace is kept whole or not at all: an unsampled
// root's children are not recorded either; ratio 1 keeps every trace.
func TestSampling(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	rare, err := tracing.New(tracing.Options{Exporter: exp, SampleRatio: 1e-15})
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		ctx, root := rare.Tracer("test").Start(context.Background(), "root")
		_, child := rare.Tracer("test").Start(ctx, "child")
		if root.IsRecording() || child.IsRecording() {
			t.Fatal("a trace was kept at a ratio of 1e-15")
		}
		child.End()
		root.End()
	}
	all, _ := tracing.New(tracing.Options{Exporter: exp, SampleRatio: 1})
	ctx, root := all.Tracer("test").Start(context.Background(), "root")
	_, child := all.Tracer("test").Start(ctx, "child")
	child.End()
	root.End()
	if n := len(exp.GetSpans()); n != 2 {
		t.Errorf("%d spans exported, want the 2 of the kept trace", n)
	}
}
