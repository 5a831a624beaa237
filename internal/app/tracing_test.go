package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"ecode/internal/agent/fake"
	"ecode/internal/config"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// spanLog is an in-memory exporter that lets a test wait for a span: a
// request's span ends after its answer has gone out.
type spanLog struct {
	*tracetest.InMemoryExporter
	mu      sync.Mutex
	changed chan struct{}
}

func newSpanLog() *spanLog {
	return &spanLog{InMemoryExporter: tracetest.NewInMemoryExporter(), changed: make(chan struct{})}
}

func (l *spanLog) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := l.InMemoryExporter.ExportSpans(ctx, spans)
	l.mu.Lock()
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
	return err
}

// wait returns the first exported span named name, waiting for it.
func (l *spanLog) wait(t *testing.T, name string) tracetest.SpanStub {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		l.mu.Lock()
		ch := l.changed
		l.mu.Unlock()
		for _, s := range l.GetSpans() {
			if s.Name == name {
				return s
			}
		}
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("no span %q among %v", name, names(l.GetSpans()))
		}
	}
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

// children are the spans whose parent is s.
func (l *spanLog) children(s tracetest.SpanStub) tracetest.SpanStubs {
	var out tracetest.SpanStubs
	for _, c := range l.GetSpans() {
		if c.Parent.SpanID() == s.SpanContext.SpanID() && c.Parent.TraceID() == s.SpanContext.TraceID() {
			out = append(out, c)
		}
	}
	return out
}

func attr(s tracetest.SpanStub, key string) (attribute.Value, bool) {
	for _, a := range s.Attributes {
		if string(a.Key) == key {
			return a.Value, true
		}
	}
	return attribute.Value{}, false
}

func childNamed(t *testing.T, l *spanLog, parent tracetest.SpanStub, name string) tracetest.SpanStub {
	t.Helper()
	for _, c := range l.children(parent) {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("%s has no child span %q; children: %v", parent.Name, name, names(l.children(parent)))
	return tracetest.SpanStub{}
}

// An exec through the API is one trace: the request's span (named by its
// route, with its status and the request id the client saw), the exec's
// span under it with the sandbox's start under that, and store statements
// with their kind only.
func TestTraceOfAnExecRequest(t *testing.T) {
	testutil.RequireSandbox(t, testutil.NewSandbox(t))
	spans := newSpanLog()
	srv := testutil.NewServer(t, testutil.NewStore(t, store.SQLite), testutil.ServerOptions{Spans: spans})
	c := srv.User(t, "tracer")
	ctx := context.Background()
	p, err := c.CreateProject(ctx, "traced", "")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Raw(ctx, "POST", "/api/projects/"+p.ID+"/exec", strings.NewReader(`{"command":"echo traced"}`), "application/json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	reqID := resp.Header.Get("X-Request-Id")
	if resp.StatusCode != 200 || reqID == "" {
		t.Fatalf("exec: %d, request id %q", resp.StatusCode, reqID)
	}

	req := spans.wait(t, "POST /api/projects/{id}/exec")
	if v, _ := attr(req, "ecode.request_id"); v.AsString() != reqID {
		t.Errorf("request span's request id %q, the client saw %q", v.AsString(), reqID)
	}
	if v, _ := attr(req, "http.response.status_code"); v.AsInt64() != 200 {
		t.Errorf("request span's status %v", v.AsInt64())
	}
	if req.Parent.IsValid() {
		t.Errorf("the request span has a parent: %v", req.Parent)
	}
	exec := childNamed(t, spans, req, "sandbox exec")
	if v, _ := attr(exec, "ecode.exec.use"); v.AsString() != "exec" {
		t.Errorf("exec span's use %q", v.AsString())
	}
	if v, ok := attr(exec, "process.exit.code"); !ok || v.AsInt64() != 0 {
		t.Errorf("exec span's exit code %v (%v)", v.AsInt64(), ok)
	}
	childNamed(t, spans, exec, "sandbox start") // the project's first process opens its sandbox
	var statements int
	for _, s := range spans.GetSpans() {
		if s.SpanContext.TraceID() != req.SpanContext.TraceID() || !strings.HasPrefix(s.Name, "store ") {
			continue
		}
		statements++
		for _, a := range s.Attributes {
			switch a.Key {
			case "db.system.name", "db.operation.name", "ecode.db.in_tx":
			default:
				t.Errorf("store span %s has attribute %s", s.Name, a.Key)
			}
		}
		if v, _ := attr(s, "db.operation.name"); !strings.HasSuffix(s.Name, v.AsString()) || v.AsString() == "" {
			t.Errorf("store span %q has kind %q", s.Name, v.AsString())
		}
	}
	if statements == 0 {
		t.Errorf("the exec's trace has no store statement; spans: %v", names(spans.GetSpans()))
	}
}

// An agent turn with the fake model is one trace under the request that
// started it: the turn, each model call with its token counts, each tool,
// the checkpoint at its end; and no span carries the prompt, the model's
// text, a file's content or the API key.
func TestTraceOfAnAgentTurn(t *testing.T) {
	const prompt, reply, content, key = "PROMPT-e4c1 make notes", "REPLY-9b2f written", "CONTENT-77aa notes", "sk-KEY-5d0e"
	fk := fake.NewAnthropic(&fake.Transcript{Name: "traced", Steps: []fake.Step{
		{Respond: fake.Respond{StopReason: "tool_use", Content: []fake.Content{
			fake.Text("Writing."), fake.Tool("write", map[string]string{"file_path": "notes.md", "content": content}),
		}}},
		{Respond: fake.Respond{StopReason: "end_turn", Content: []fake.Content{fake.Text(reply)}}},
	}})
	t.Cleanup(fk.Close)
	fk.APIKey = key
	spans := newSpanLog()
	srv := testutil.NewServer(t, testutil.NewStore(t, store.SQLite), testutil.ServerOptions{Spans: spans,
		Config: func(c *config.Config) { c.AnthropicAPIKey, c.AnthropicBaseURL = key, fk.URL }})
	c := srv.User(t, "agenttracer")
	ctx := context.Background()
	p, err := c.CreateProject(ctx, "traced", "")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"prompt": prompt})
	resp, err := c.Raw(ctx, "POST", "/api/projects/"+p.ID+"/agent/turns", strings.NewReader(string(body)), "application/json")
	if err != nil {
		t.Fatal(err)
	}
	var sse strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		sse.Write(buf[:n])
		if err != nil {
			break
		}
	}
	resp.Body.Close()
	if !strings.Contains(sse.String(), reply) {
		t.Fatalf("turn stream: %s", sse.String())
	}
	for _, f := range fk.Failures() {
		t.Error("fake provider:", f)
	}

	req := spans.wait(t, "POST /api/projects/{id}/agent/turns")
	turn := childNamed(t, spans, req, "agent turn")
	if v, _ := attr(turn, "ecode.agent.stop_reason"); v.AsString() != "end_turn" {
		t.Errorf("turn span's stop reason %q", v.AsString())
	}
	var calls int
	for _, s := range spans.children(turn) {
		if s.Name != "model call" {
			continue
		}
		calls++
		for _, k := range []string{"gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"} {
			if v, ok := attr(s, k); !ok || v.AsInt64() <= 0 {
				t.Errorf("model call span: %s = %v (%v)", k, v.AsInt64(), ok)
			}
		}
	}
	if calls != 2 {
		t.Errorf("%d model call spans under the turn, want 2; children: %v", calls, names(spans.children(turn)))
	}
	tool := childNamed(t, spans, turn, "agent tool")
	if v, _ := attr(tool, "gen_ai.tool.name"); v.AsString() != "write" {
		t.Errorf("tool span's tool %q", v.AsString())
	}
	cp := childNamed(t, spans, turn, "checkpoint create")
	if v, _ := attr(cp, "ecode.checkpoint.trigger"); v.AsString() != "agent" {
		t.Errorf("checkpoint span's trigger %q", v.AsString())
	}
	for _, s := range spans.GetSpans() {
		for _, a := range s.Attributes {
			v := a.Value.Emit()
			for _, secret := range []string{"PROMPT-e4c1", "REPLY-9b2f", "CONTENT-77aa", "KEY-5d0e"} {
				if strings.Contains(v, secret) {
					t.Errorf("span %s attribute %s carries %s: %q", s.Name, a.Key, secret, v)
				}
			}
		}
		for _, e := range s.Events {
			t.Errorf("span %s has event %s (events may carry text)", s.Name, e.Name)
		}
	}
}
