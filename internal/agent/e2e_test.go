package agent

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ecode/internal/agent/fake"
)

func loadT(t testing.TB, name string) *fake.Transcript {
	tr, err := fake.Load(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func anthropicFake(t testing.TB, tr *fake.Transcript) (*fake.Anthropic, Provider) {
	srv := fake.NewAnthropic(tr)
	t.Cleanup(srv.Close)
	return srv, NewAnthropic(AnthropicConfig{APIKey: "test-key", BaseURL: srv.URL})
}

func noFailures(t *testing.T, f interface{ Failures() []string }) {
	t.Helper()
	for _, s := range f.Failures() {
		t.Error("fake server:", s)
	}
}

func webappUsage() []Usage {
	return []Usage{
		{InputTokens: 3000, CacheWriteTokens: 9000, OutputTokens: 900},
		{InputTokens: 500, CacheWriteTokens: 1200, CacheReadTokens: 9000, OutputTokens: 700},
		{InputTokens: 400, CacheWriteTokens: 800, CacheReadTokens: 10200, OutputTokens: 120},
		{InputTokens: 300, CacheWriteTokens: 200, CacheReadTokens: 11000, OutputTokens: 150},
		{InputTokens: 600, CacheReadTokens: 11200, OutputTokens: 80},
	}
}

func checkWebapp(t *testing.T, p *project, res *Result, wantCost bool) {
	t.Helper()
	if res.Stop != StopEndTurn {
		t.Fatalf("stop = %s (%s)", res.Stop, res.Text)
	}
	for name, want := range map[string]string{"index.html": "<title>Counter</title>", "app.js": "addEventListener", "style.css": "font-family"} {
		b, err := os.ReadFile(filepath.Join(p.dir, name))
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("%s: %v, lacks %q", name, err, want)
		}
	}
	m := res.Metrics
	if !slices.Equal(m.FilesModified, []string{"app.js", "index.html", "style.css"}) {
		t.Errorf("files modified %v", m.FilesModified)
	}
	if m.Steps != 5 || m.Retries != 3 || m.Attempts != 8 || m.ToolCalls != 10 {
		t.Errorf("steps %d retries %d attempts %d tools %d", m.Steps, m.Retries, m.Attempts, m.ToolCalls)
	}
	if m.LinesAdded != 14+6+2+1 || m.LinesRemoved != 1 {
		t.Errorf("lines +%d -%d", m.LinesAdded, m.LinesRemoved)
	}
	if wantCost {
		var want float64
		var sum Usage
		price := DefaultModels()["claude-sonnet-5-5"].Price
		for _, u := range webappUsage() {
			want += price.Cost(u)
			sum = sum.Add(u)
		}
		if d := m.CostUSD - want; d > 1e-9 || d < -1e-9 {
			t.Errorf("cost %.6f want %.6f", m.CostUSD, want)
		}
		if m.Usage != sum {
			t.Errorf("usage %+v want %+v", m.Usage, sum)
		}
	}
	// retry-after 3s, then 2s backoff for the error event and the cut stream
	if s := p.clock.TotalSlept(); s != 7*time.Second {
		t.Errorf("slept %s", s)
	}
	if res.CheckpointID != "cp1" {
		t.Errorf("checkpoint %q", res.CheckpointID)
	}
	// the checkpoint records the turn's tokens and (fake clock) time
	if want := (TurnCost{Tokens: m.Usage.PromptTokens() + m.Usage.OutputTokens, Time: m.Wall}); len(p.cps.costs) != 1 || p.cps.costs[0] != want || want.Tokens == 0 {
		t.Errorf("checkpoint cost %+v, want %+v", p.cps.costs, want)
	}
	rec := p.rec
	if len(rec.of(EvTextDelta)) == 0 || len(rec.of(EvToolInputDelta)) == 0 {
		t.Error("no text or tool input deltas")
	}
	if n := len(rec.of(EvRetry)); n != 3 {
		t.Errorf("%d retry events", n)
	}
	var editEv *Event
	for _, e := range rec.of(EvToolResult) {
		if e.ToolName == "edit" {
			editEv = &e
		}
	}
	if editEv == nil || !strings.Contains(editEv.Diff, "-<title>App</title>\n+<title>Counter</title>") || editEv.Added != 1 || editEv.Removed != 1 {
		t.Errorf("edit event %+v", editEv)
	}
	if len(rec.of(EvUsage)) != 5 || len(rec.of(EvTodo)) != 1 || len(rec.of(EvCheckpoint)) != 1 {
		t.Errorf("usage %d todo %d checkpoint %d events", len(rec.of(EvUsage)), len(rec.of(EvTodo)), len(rec.of(EvCheckpoint)))
	}
	fin := rec.of(EvTurnFinished)
	if len(fin) != 1 || fin[0].Metrics == nil || fin[0].Stop != StopEndTurn {
		t.Fatalf("turn_finished %+v", fin)
	}
	for i, e := range rec.events {
		if e.Seq != i+1 {
			t.Fatalf("event %d has seq %d", i, e.Seq)
		}
	}
}

// From an empty project the scripted agent writes a web app, runs it,
// checks the preview and finishes, through HTTP 529, an error event and a
// cut stream.
func TestWebAppAnthropic(t *testing.T) {
	p := newProject(t)
	srv, prov := anthropicFake(t, loadT(t, "webapp.json"))
	a, err := New(p.config(prov))
	if err != nil {
		t.Fatal(err)
	}
	sess := &Session{}
	res, err := a.Run(context.Background(), sess, "Build a counter web app", Mode{})
	if err != nil {
		t.Fatal(err)
	}
	noFailures(t, srv)
	checkWebapp(t, p, res, true)
	if srv.StepsDone() != 5 || len(srv.Requests()) != 8 {
		t.Errorf("server steps %d requests %d", srv.StepsDone(), len(srv.Requests()))
	}
	// the thinking block went back unchanged (the fake verifies its signature)
	last := srv.Requests()[7].Body
	if !strings.Contains(string(mustJSONt(last)), `"type":"thinking"`) {
		t.Error("thinking block not sent back")
	}
	// cache breakpoints: system, last tool, top level
	if n := strings.Count(string(srv.Requests()[0].Raw), `"cache_control"`); n != 3 {
		t.Errorf("%d cache_control breakpoints", n)
	}
}

// The same task through the OpenAI-compatible provider.
func TestWebAppOpenAI(t *testing.T) {
	p := newProject(t)
	srv := fake.NewOpenAI(loadT(t, "webapp.json"))
	defer srv.Close()
	prov := NewOpenAI(OpenAIConfig{APIKey: "test-key", BaseURL: srv.URL + "/v1"})
	cfg := p.config(prov)
	cfg.Model = "qwen3-coder"
	a, _ := New(cfg)
	res, err := a.Run(context.Background(), &Session{}, "Build a counter web app", Mode{ExtendedThinking: true, WebSearch: true})
	if err != nil {
		t.Fatal(err)
	}
	noFailures(t, srv)
	checkWebapp(t, p, res, false)
	if res.Metrics.CostUSD != 0 {
		t.Errorf("self-hosted cost %v", res.Metrics.CostUSD)
	}
	if len(p.rec.of(EvThinkingDelta)) == 0 {
		t.Error("reasoning_content not shown")
	}
}
