package agent

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"ecode/internal/agent/fake"
)

func oneStep(c ...fake.Content) *fake.Transcript {
	return &fake.Transcript{Steps: []fake.Step{{Respond: fake.Respond{Content: c, StopReason: "end_turn"}}, {Respond: fake.Respond{Content: []fake.Content{fake.Text("ok")}, StopReason: "end_turn"}}}}
}

// The fake rejects what the real API rejects: a tool_use with no matching
// tool_result next, and a thinking block that was altered.
func TestFakeRejectsProtocolErrors(t *testing.T) {
	srv, prov := anthropicFake(t, oneStep(fake.Think("secret plan"), fake.Tool("read", map[string]any{"file_path": "a"})))
	resp, err := prov.Stream(context.Background(), Request{Model: "claude-sonnet-5-5", MaxTokens: 1000,
		Messages: []Message{{Role: RoleUser, Blocks: []Block{{Type: BlockText, Text: "hi"}}}}}, func(StreamEvent) {})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Message.Blocks) != 2 || resp.Message.Blocks[0].Signature == "" || resp.Message.Blocks[1].Type != BlockToolUse {
		t.Fatalf("blocks %+v", resp.Message.Blocks)
	}
	user := Message{Role: RoleUser, Blocks: []Block{{Type: BlockText, Text: "hi"}}}
	try := func(msgs []Message) error {
		_, err := prov.Stream(context.Background(), Request{Model: "claude-sonnet-5-5", MaxTokens: 1000, Messages: msgs}, func(StreamEvent) {})
		return err
	}
	// no tool_result
	err = try([]Message{user, resp.Message, {Role: RoleUser, Blocks: []Block{{Type: BlockText, Text: "go on"}}}})
	if pe, ok := asProviderError(err); !ok || pe.Status != 400 || !strings.Contains(pe.Message, "tool_result") {
		t.Errorf("missing tool_result: %v", err)
	}
	// wrong id
	err = try([]Message{user, resp.Message, {Role: RoleUser, Blocks: []Block{{Type: BlockToolResult, ToolUseID: "toolu_x", Content: "?"}}}})
	if pe, ok := asProviderError(err); !ok || pe.Status != 400 {
		t.Errorf("wrong tool_use_id: %v", err)
	}
	// altered thinking
	bad := Message{Role: RoleAssistant, Blocks: append([]Block(nil), resp.Message.Blocks...)}
	bad.Blocks[0].Thinking = "a different plan"
	res := Message{Role: RoleUser, Blocks: []Block{{Type: BlockToolResult, ToolUseID: resp.Message.Blocks[1].ID, Content: "x"}}}
	err = try([]Message{user, bad, res})
	if pe, ok := asProviderError(err); !ok || pe.Status != 400 || !strings.Contains(pe.Message, "signature") {
		t.Errorf("altered thinking: %v", err)
	}
	// the unaltered conversation is accepted
	if err := try([]Message{user, resp.Message, res}); err != nil {
		t.Errorf("valid conversation: %v", err)
	}
	if n := len(srv.Failures()); n != 3 {
		t.Errorf("%d rejections recorded", n)
	}
}

func TestModes(t *testing.T) {
	cases := []struct {
		model string
		mode  Mode
		check func(body map[string]any) string
	}{
		{"claude-sonnet-5-5", Mode{}, want(`"thinking":{"display":"summarized","type":"adaptive"}`, `"effort":"medium"`, `"max_tokens":16000`)},
		{"claude-sonnet-5-5", Mode{ExtendedThinking: true}, want(`"type":"adaptive"`, `"effort":"high"`, `"max_tokens":32000`)},
		{"claude-sonnet-5-5", Mode{HighPower: true}, want(`"model":"claude-opus-5-5"`, `"effort":"high"`, `"max_tokens":64000`)},
		{"claude-sonnet-5-5", Mode{HighPower: true, ExtendedThinking: true}, want(`"model":"claude-opus-5-5"`, `"effort":"max"`)},
		{"claude-sonnet-4-5", Mode{ExtendedThinking: true}, want(`"thinking":{"budget_tokens":16000,"type":"enabled"}`, `"max_tokens":32000`)},
		{"claude-sonnet-4-5", Mode{}, none(`"thinking"`)},
		{"claude-sonnet-5-5", Mode{WebSearch: true}, want(`"type":"web_search_20250305"`, `"max_uses":5`)},
	}
	for _, c := range cases {
		p := newProject(t)
		srv, prov := anthropicFake(t, oneStep(fake.Text("hi")))
		cfg := p.config(prov)
		cfg.Model = c.model
		run(t, p, cfg, "hi", c.mode)
		noFailures(t, srv)
		body := srv.Requests()[0].Body
		if msg := c.check(body); msg != "" {
			t.Errorf("%s %+v: %s", c.model, c.mode, msg)
		}
	}
	a, _ := New(Config{Provider: NewAnthropic(AnthropicConfig{})})
	q := a.Quote(&Session{}, "build me an app", Mode{ExtendedThinking: true})
	if q.MaxUSD != 4 || q.Limits.MaxSteps != 60 || q.FirstCallMaxUSD < 0.32 || q.FirstCallMaxUSD > 0.40 || q.PriceChecked == "" {
		t.Errorf("quote %+v", q)
	}
}

func want(subs ...string) func(map[string]any) string {
	return func(b map[string]any) string {
		s, _ := json.Marshal(b)
		for _, w := range subs {
			if !strings.Contains(string(s), w) {
				return "request lacks " + w
			}
		}
		return ""
	}
}

func none(sub string) func(map[string]any) string {
	return func(b map[string]any) string {
		s, _ := json.Marshal(b)
		if strings.Contains(string(s), sub) {
			return "request has " + sub
		}
		return ""
	}
}

func TestWebSearchPauseTurn(t *testing.T) {
	p := newProject(t)
	ws := &fake.WebSearch{Query: "express 5 release notes"}
	ws.Results = append(ws.Results, struct {
		URL   string `json:"url"`
		Title string `json:"title"`
	}{"https://expressjs.com/", "Express"})
	tr := &fake.Transcript{Steps: []fake.Step{
		{Expect: &fake.Expect{ToolsInclude: []string{"web_search"}}, Respond: fake.Respond{Content: []fake.Content{{WebSearch: ws}}, StopReason: "pause_turn"}},
		{Expect: &fake.Expect{LastMessageAssistant: true}, Respond: fake.Respond{Content: []fake.Content{fake.Text("Express 5 is out.")}, StopReason: "end_turn"}},
		{Expect: &fake.Expect{LastUserText: "thanks"}, Respond: fake.Respond{Content: []fake.Content{fake.Text("welcome")}, StopReason: "end_turn"}},
	}}
	srv, prov := anthropicFake(t, tr)
	a, _ := New(p.config(prov))
	sess := &Session{}
	res, err := a.Run(context.Background(), sess, "what's new in express?", Mode{WebSearch: true})
	if err != nil || res.Stop != StopEndTurn {
		t.Fatal(res.Stop, err)
	}
	// next turn: the server blocks go back unchanged (the fake checks them)
	if res, err = a.Run(context.Background(), sess, "thanks", Mode{WebSearch: true}); err != nil || res.Stop != StopEndTurn {
		t.Fatal(res.Stop, err)
	}
	noFailures(t, srv)
	if n := len(p.rec.of(EvServerBlock)); n != 2 {
		t.Errorf("%d server block events", n)
	}
	if u := res.Metrics.Usage; u.WebSearches != 0 {
		t.Errorf("second turn searches %d", u.WebSearches)
	}
}

func TestMaxTokensAskRefusal(t *testing.T) {
	p := newProject(t)
	tr := &fake.Transcript{Steps: []fake.Step{
		// cut off in the middle of a tool call: it must not run
		{Respond: fake.Respond{Content: []fake.Content{fake.Tool("write", map[string]any{"file_path": "big.txt", "content": "partial"})}, StopReason: "max_tokens"}},
		{Expect: &fake.Expect{LastUserText: "cut off", ResultIsError: ptr(true)},
			Respond: fake.Respond{Content: []fake.Content{fake.Tool("read", map[string]any{"file_path": "missing.txt"}), fake.Tool("ask_user", map[string]any{"question": "Which colour?"})}, StopReason: "tool_use"}},
		{Expect: &fake.Expect{ToolResults: ptr(2), LastResultContains: "The user answered: blue"},
			Respond: fake.Respond{Content: []fake.Content{fake.Text("no"), fake.Tool("bash", map[string]any{"command": "touch refused.txt"})}, StopReason: "refusal"}},
	}}
	srv, prov := anthropicFake(t, tr)
	a, _ := New(p.config(prov))
	sess := &Session{}
	res, _ := a.Run(context.Background(), sess, "make it", Mode{})
	if res.Stop != StopWaitingForUser || res.Question != "Which colour?" {
		t.Fatalf("stop %s %q", res.Stop, res.Question)
	}
	res, _ = a.Run(context.Background(), sess, "blue", Mode{})
	if res.Stop != StopRefusal {
		t.Fatalf("stop %s", res.Stop)
	}
	noFailures(t, srv)
	for _, f := range []string{"big.txt", "refused.txt"} {
		if _, err := p.files.ReadFile(context.Background(), f); err == nil {
			t.Errorf("%s exists: a call that must not run ran", f)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func oneStepTool(name string, in map[string]any) *fake.Transcript {
	return &fake.Transcript{Steps: []fake.Step{
		{Respond: fake.Respond{Content: []fake.Content{fake.Tool(name, in)}, StopReason: "tool_use"}},
		{Respond: fake.Respond{Content: []fake.Content{fake.Text("ok")}, StopReason: "end_turn"}},
	}}
}

// Interleaved deltas of two open tool_use blocks, padded data lines and an
// unknown event type are all handled; read-only calls run in parallel.
func TestInterleavedParallelReads(t *testing.T) {
	p := newProject(t)
	ctx := context.Background()
	p.files.WriteFile(ctx, "a.txt", []byte("AAA\n"))
	p.files.WriteFile(ctx, "b.txt", []byte("BBB\n"))
	tr := &fake.Transcript{Steps: []fake.Step{
		{Respond: fake.Respond{Content: []fake.Content{
			fake.Tool("preview_check", map[string]any{"path": "/a.txt"}),
			fake.Tool("read", map[string]any{"file_path": "a.txt"}),
			fake.Tool("read", map[string]any{"file_path": "b.txt"}),
			fake.Tool("preview_check", map[string]any{"path": "/b.txt"}),
		}, StopReason: "tool_use"}},
		{Expect: &fake.Expect{ToolResults: ptr(4), LastResultContains: "BBB"}, Respond: fake.Respond{Content: []fake.Content{fake.Text("both fine")}, StopReason: "end_turn"}},
	}}
	srv, prov := anthropicFake(t, tr)
	srv.Interleave, srv.UnknownEvents, srv.ChunkSize = true, true, 5
	app := &barrierApp{dirApp: p.app, n: 2, all: make(chan struct{})}
	p.app.Control(ctx, "start")
	env := p.env()
	env.App = app
	cfg := p.config(prov)
	cfg.Env = env
	res := run(t, p, cfg, "check both", Mode{})
	noFailures(t, srv)
	if res.Stop != StopEndTurn {
		t.Fatalf("stop %s %s", res.Stop, res.Text)
	}
	// the order of the results is the order of the calls
	r := p.rec.of(EvToolResult)
	if len(r) != 4 || !strings.Contains(r[0].Result, "AAA") || !strings.Contains(r[1].Result, "AAA") || !strings.Contains(r[3].Result, "BBB") {
		t.Errorf("results %+v", r)
	}
}

// barrierApp's Preview returns only when n previews are in flight at once:
// run one at a time, they would never return (the guard fails the call).
type barrierApp struct {
	*dirApp
	mu  sync.Mutex
	n   int
	all chan struct{}
}

func (b *barrierApp) Preview(ctx context.Context, p string) (PreviewResult, error) {
	b.mu.Lock()
	b.n--
	if b.n == 0 {
		close(b.all)
	}
	b.mu.Unlock()
	select {
	case <-b.all:
	case <-time.After(10 * time.Second):
		return PreviewResult{}, errors.New("previews did not run in parallel")
	}
	return b.dirApp.Preview(ctx, p)
}

// Switching model between turns drops the earlier thinking blocks (they are
// bound to the model that wrote them).
func TestModelSwitchStripsThinking(t *testing.T) {
	p := newProject(t)
	tr := &fake.Transcript{Steps: []fake.Step{
		{Respond: fake.Respond{Content: []fake.Content{fake.Think("hmm"), fake.Text("one")}, StopReason: "end_turn"}},
		{Expect: &fake.Expect{Model: "claude-opus-5-5"}, Respond: fake.Respond{Content: []fake.Content{fake.Text("two")}, StopReason: "end_turn"}},
	}}
	srv, prov := anthropicFake(t, tr)
	a, _ := New(p.config(prov))
	sess := &Session{}
	a.Run(context.Background(), sess, "first", Mode{})
	a.Run(context.Background(), sess, "second", Mode{HighPower: true})
	noFailures(t, srv)
	if strings.Contains(string(srv.Requests()[1].Raw), `"thinking":"hmm"`) {
		t.Error("thinking of the other model was sent")
	}
}

// Cancelling mid-turn stops after the running call; every tool_use still
// gets a result, so the session stays valid for the next turn.
func TestCancel(t *testing.T) {
	p := newProject(t)
	ctx, cancel := context.WithCancel(context.Background())
	p.shell.onExec = cancel
	tr := oneStepTool("bash", map[string]any{"command": "echo hi"})
	tr.Steps = append(tr.Steps[:1], fake.Step{Expect: &fake.Expect{ToolResults: ptr(1)}, Respond: fake.Respond{Content: []fake.Content{fake.Text("resumed")}, StopReason: "end_turn"}})
	srv, prov := anthropicFake(t, tr)
	a, _ := New(p.config(prov))
	sess := &Session{}
	res, _ := a.Run(ctx, sess, "go", Mode{})
	if res.Stop != StopCancelled {
		t.Fatalf("stop %s", res.Stop)
	}
	p.shell.onExec = nil
	// next turn: the fake accepts the history (tool_use answered)
	res, err := a.Run(context.Background(), sess, "continue", Mode{})
	if err != nil || res.Stop != StopEndTurn {
		t.Fatalf("next turn %s %v", res.Stop, err)
	}
	noFailures(t, srv)
}

// Proxies that accept only x-api-key.
func TestXAPIKeyHeader(t *testing.T) {
	srv := fake.NewAnthropic(oneStep(fake.Text("hi")))
	defer srv.Close()
	prov := NewAnthropic(AnthropicConfig{APIKey: "test-key", BaseURL: srv.URL, XAPIKey: true})
	if _, err := prov.Stream(context.Background(), Request{Model: "m", MaxTokens: 10, Messages: []Message{{Role: RoleUser, Blocks: []Block{{Type: BlockText, Text: "hi"}}}}}, func(StreamEvent) {}); err != nil {
		t.Fatal(err)
	}
	h := srv.Requests()[0].Header
	if h.Get("x-api-key") != "test-key" || h.Get("authorization") != "" || h.Get("anthropic-version") == "" {
		t.Errorf("headers %v", h)
	}
}
