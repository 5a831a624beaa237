package agent

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"ecode/internal/agent/fake"
)

// BenchmarkStepOverhead runs the web-app task (without faults) and reports
// the loop's own time per step: wall time minus the time inside
// Provider.Stream (HTTP, SSE parsing, the fake server) and inside tools.
func BenchmarkStepOverhead(b *testing.B) {
	tr := loadT(b, "webapp.json")
	for i := range tr.Steps {
		tr.Steps[i].Faults = nil
		tr.Steps[i].Expect = nil
	}
	var overhead, model, tool, wall time.Duration
	steps := 0
	for b.Loop() {
		p := newProject(b)
		srv := fake.NewAnthropic(tr)
		a, _ := New(p.config(NewAnthropic(AnthropicConfig{APIKey: "test-key", BaseURL: srv.URL})))
		t0 := time.Now()
		res, err := a.Run(context.Background(), &Session{}, "Build a counter web app", Mode{})
		wall += time.Since(t0)
		srv.Close()
		if err != nil || res.Stop != StopEndTurn {
			b.Fatal(res.Stop, err)
		}
		overhead += res.Metrics.Overhead
		model += res.Metrics.ModelTime
		tool += res.Metrics.ToolTime
		steps += res.Metrics.Steps
	}
	b.ReportMetric(float64(overhead.Nanoseconds())/float64(steps), "overhead-ns/step")
	b.ReportMetric(float64(model.Nanoseconds())/float64(steps), "model-ns/step")
	b.ReportMetric(float64(tool.Nanoseconds())/float64(steps), "tool-ns/step")
}

// editTask changes one line of a 300-line file, either with edit or by
// rewriting the whole file; the fake server counts output tokens from what
// the scripted model wrote (4 characters a token).
func editTask(useEdit bool) (*fake.Transcript, string) {
	var sb strings.Builder
	for i := range 300 {
		fmt.Fprintf(&sb, "export function handler%03d(req, res) { res.json({ route: %d, ok: true }); }\n", i, i)
	}
	orig := sb.String()
	oldLine := "export function handler150(req, res) { res.json({ route: 150, ok: true }); }"
	newLine := "export function handler150(req, res) { res.status(201).json({ route: 150, ok: true }); }"
	change := fake.Tool("edit", map[string]any{"file_path": "routes.js", "old_string": oldLine, "new_string": newLine})
	if !useEdit {
		change = fake.Tool("write", map[string]any{"file_path": "routes.js", "content": strings.Replace(orig, oldLine, newLine, 1)})
	}
	return &fake.Transcript{Steps: []fake.Step{
		{Respond: fake.Respond{Content: []fake.Content{fake.Tool("read", map[string]any{"file_path": "routes.js"})}, StopReason: "tool_use"}},
		{Respond: fake.Respond{Content: []fake.Content{change}, StopReason: "tool_use"}},
		{Respond: fake.Respond{Content: []fake.Content{fake.Text("Route 150 now answers 201.")}, StopReason: "end_turn"}},
	}}, orig
}

func runEditTask(tb testing.TB, useEdit bool) *Result {
	tr, orig := editTask(useEdit)
	p := newProject(tb)
	p.files.WriteFile(context.Background(), "routes.js", []byte(orig))
	srv := fake.NewAnthropic(tr)
	defer srv.Close()
	a, _ := New(p.config(NewAnthropic(AnthropicConfig{APIKey: "test-key", BaseURL: srv.URL})))
	res, err := a.Run(context.Background(), &Session{}, "make route 150 answer 201", Mode{})
	if err != nil || res.Stop != StopEndTurn {
		tb.Fatal(res.Stop, err)
	}
	got, _ := p.files.ReadFile(context.Background(), "routes.js")
	if !strings.Contains(string(got), "res.status(201).json({ route: 150") || res.Metrics.LinesAdded != 1 || res.Metrics.LinesRemoved != 1 {
		tb.Fatalf("file not changed as expected: +%d -%d", res.Metrics.LinesAdded, res.Metrics.LinesRemoved)
	}
	return res
}

// BenchmarkEditVsRewrite reports the output tokens of the same one-line
// change made with edit and by rewriting the file.
func BenchmarkEditVsRewrite(b *testing.B) {
	var e, w int64
	for b.Loop() {
		e = runEditTask(b, true).Metrics.Usage.OutputTokens
		w = runEditTask(b, false).Metrics.Usage.OutputTokens
	}
	b.ReportMetric(float64(e), "out-tokens-edit")
	b.ReportMetric(float64(w), "out-tokens-rewrite")
	b.ReportMetric(float64(w)/float64(e), "rewrite/edit")
}

func TestEditCheaperThanRewrite(t *testing.T) {
	e := runEditTask(t, true).Metrics.Usage.OutputTokens
	w := runEditTask(t, false).Metrics.Usage.OutputTokens
	if e*10 > w {
		t.Errorf("edit %d output tokens, rewrite %d", e, w)
	}
}
