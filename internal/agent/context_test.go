package agent

import (
	"context"
	"strings"
	"testing"

	"ecode/internal/agent/fake"
)

// Old tool results become placeholders first; when that is not enough a
// model-written summary replaces the middle of the conversation.
func TestContextTrimThenSummary(t *testing.T) {
	p := newProject(t)
	ctx := context.Background()
	p.files.WriteFile(ctx, "big1.txt", []byte(strings.Repeat("alpha line of the first file\n", 700)))
	p.files.WriteFile(ctx, "big2.txt", []byte(strings.Repeat("beta line of the second file\n", 700)))
	p.files.WriteFile(ctx, "small.txt", []byte("small\n"))
	u := func(in int64) *fake.Usage { return &fake.Usage{InputTokens: in, OutputTokens: 50} }
	read := func(f string) []fake.Content {
		return []fake.Content{fake.Tool("read", map[string]any{"file_path": f})}
	}
	tr := &fake.Transcript{Steps: []fake.Step{
		{Respond: fake.Respond{Usage: u(2000), Content: read("big1.txt"), StopReason: "tool_use"}},
		{Respond: fake.Respond{Usage: u(16000), Content: read("big2.txt"), StopReason: "tool_use"}},
		{Respond: fake.Respond{Usage: u(16000), Content: read("small.txt"), StopReason: "tool_use"}},
		{Respond: fake.Respond{Usage: u(25000), Content: read("small.txt"), StopReason: "tool_use"}},
		// the summary call
		{Expect: &fake.Expect{LastUserText: "Summarise the conversation"}, Respond: fake.Respond{Usage: u(25000), Content: []fake.Content{fake.Text("SUMMARY: read big1, big2, small")}, StopReason: "end_turn"}},
		{Respond: fake.Respond{Usage: u(3000), Content: []fake.Content{fake.Text("done")}, StopReason: "end_turn"}},
	}}
	srv, prov := anthropicFake(t, tr)
	cfg := p.config(prov)
	cfg.Models = ModelTable{"tiny": {ID: "tiny", Provider: "anthropic", ContextWindow: 30000, MaxOutput: 4000}}
	cfg.Model = "tiny"
	cfg.KeepToolResults = 1
	cfg.LoopRepeats = 5
	res := run(t, p, cfg, "read the files", Mode{})
	noFailures(t, srv)
	if res.Stop != StopEndTurn || res.Text != "done" {
		t.Fatalf("stop %s %q", res.Stop, res.Text)
	}
	reqs := srv.Requests()
	if len(reqs) != 6 {
		t.Fatalf("%d requests", len(reqs))
	}
	// request 2: big1's result trimmed in place, big2's kept
	r2 := string(reqs[2].Raw)
	if !strings.Contains(r2, "[output of read elided") || strings.Contains(r2, "alpha line") || !strings.Contains(r2, "beta line") {
		t.Error("request 2 not trimmed as expected")
	}
	// the prefix before the trimmed block is byte-identical to the previous request
	cut := strings.Index(r2, "[output of read elided")
	prev := string(reqs[1].Raw)
	if cut < 0 || len(prev) < cut || prefixLen(r2, prev) < cut-200 {
		t.Errorf("cache prefix changed early: common %d, trim at %d", prefixLen(r2, prev), cut)
	}
	// the request after the summary starts with the first request + summary
	last := string(reqs[5].Raw)
	if !strings.Contains(last, "read the files") || !strings.Contains(last, "SUMMARY: read big1") || strings.Contains(last, "beta line") {
		t.Error("last request is not summary + tail")
	}
	ev := p.rec.of(EvCompacted)
	if len(ev) < 2 || ev[len(ev)-1].Reason != "summarised" || res.Metrics.Compactions != len(ev) {
		t.Errorf("compaction events %+v", ev)
	}
}

func prefixLen(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
