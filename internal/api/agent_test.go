package api_test

import (
	"bufio"
	"context"
	"ecode/internal/config"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"

	"ecode/internal/agent"
	"ecode/internal/agent/fake"
	"ecode/internal/agentrun"
	"ecode/internal/client"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// agentServer is testutil.NewServer with the agent wired to cfg.
func agentServer(t *testing.T, cfg agentrun.Config) *testutil.Server {
	t.Helper()
	return testutil.NewServer(t, testutil.NewStore(t, store.SQLite), testutil.ServerOptions{
		Config: func(c *config.Config) {
			c.AnthropicAPIKey, c.AnthropicBaseURL = cfg.AnthropicAPIKey, cfg.AnthropicBaseURL
			c.OpenAIAPIKey, c.OpenAIBaseURL, c.AgentModel = cfg.OpenAIAPIKey, cfg.OpenAIBaseURL, cfg.Model
		}})
}

type agentSSE struct {
	Name string
	Data string
}

// readAgentSSE reads a whole event stream.
func readAgentSSE(t *testing.T, r io.Reader) []agentSSE {
	t.Helper()
	var out []agentSSE
	var cur agentSSE
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.Name != "" {
				out = append(out, cur)
			}
			cur = agentSSE{}
		case strings.HasPrefix(line, "event: "):
			cur.Name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.Data = strings.TrimPrefix(line, "data: ")
		}
	}
	return out
}

func webappTranscript() *fake.Transcript {
	page := "<!doctype html>\n<html><head><title>Agent app</title></head>\n<body><h1>Hello from the agent</h1></body></html>\n"
	return &fake.Transcript{Name: "agentrun", Steps: []fake.Step{
		{Expect: &fake.Expect{LastUserText: "hello page"}, Respond: fake.Respond{StopReason: "tool_use", Content: []fake.Content{
			fake.Think("A static page, served by the detected run command."),
			fake.Text("I'll write the page."),
			fake.Tool("write", map[string]string{"file_path": "index.html", "content": page}),
			fake.Tool("write", map[string]string{"file_path": "notes/README.md", "content": "# Notes\n"}),
		}}},
		{Expect: &fake.Expect{AnyResultContains: "index.html"}, Respond: fake.Respond{StopReason: "tool_use", Content: []fake.Content{
			fake.Text("Starting the app."),
			fake.Tool("run_app", map[string]string{"action": "start"}),
		}}},
		{Expect: &fake.Expect{LastResultContains: "running"}, Respond: fake.Respond{StopReason: "tool_use", Content: []fake.Content{
			fake.Tool("preview_check", map[string]string{"path": "/"}),
			fake.Tool("bash", map[string]string{"command": "ls"}),
		}}},
		{Expect: &fake.Expect{AnyResultContains: "Hello from the agent"}, Respond: fake.Respond{StopReason: "end_turn", Content: []fake.Content{
			fake.Text("Done: the page is served at /."),
		}}},
	}}
}

// A real turn through the HTTP API against the fake Anthropic server and
// the real sandbox: from an empty project the agent writes the page, runs
// it, checks the preview and finishes.
func TestAgentTurnBuildsAndRunsApp(t *testing.T) {
	testutil.RequireSandbox(t, testutil.NewSandbox(t))
	fk := fake.NewAnthropic(webappTranscript())
	t.Cleanup(fk.Close)
	srv := agentServer(t, agentrun.Config{AnthropicAPIKey: "test-key", AnthropicBaseURL: fk.URL})
	c := srv.User(t, "agentuser")
	ctx := context.Background()
	p, err := c.CreateProject(ctx, "agent", "")
	if err != nil {
		t.Fatal(err)
	}
	var status agentrun.Status
	if err := c.Do(ctx, "GET", "/api/agent/status", nil, "", &status); err != nil || !status.Configured || status.Provider != "anthropic" {
		t.Fatalf("status %+v, %v", status, err)
	}
	var quote struct {
		Model  string  `json:"model"`
		MaxUSD float64 `json:"max_usd"`
		Limits struct {
			MaxSteps int `json:"max_steps"`
		} `json:"limits"`
	}
	if err := c.Do(ctx, "POST", "/api/projects/"+p.ID+"/agent/quote", strings.NewReader(`{"prompt":"x","high_power":true}`), "application/json", &quote); err != nil ||
		quote.Model == "" || quote.MaxUSD <= 0 || quote.Limits.MaxSteps == 0 {
		t.Fatalf("quote %+v, %v", quote, err)
	}

	resp, err := c.Raw(ctx, "POST", "/api/projects/"+p.ID+"/agent/turns", strings.NewReader(`{"prompt":"Make a hello page and serve it"}`), "application/json")
	if err != nil {
		t.Fatal(err)
	}
	evs := readAgentSSE(t, resp.Body)
	resp.Body.Close()
	for _, f := range fk.Failures() {
		t.Error("fake provider:", f)
	}
	if len(evs) < 3 || evs[0].Name != "turn" || evs[len(evs)-1].Name != "result" {
		t.Fatalf("stream %v", evs)
	}
	var final struct {
		TurnID string       `json:"turn_id"`
		Result agent.Result `json:"result"`
		Error  string       `json:"error"`
	}
	json.Unmarshal([]byte(evs[len(evs)-1].Data), &final)
	if final.Result.Stop != agent.StopEndTurn || final.Error != "" || !strings.Contains(final.Result.Text, "served") {
		t.Fatalf("result %+v", final)
	}
	m := final.Result.Metrics
	if !slices.Equal(m.FilesModified, []string{"index.html", "notes/README.md"}) || m.Steps != 4 || m.ToolCalls != 5 || m.CostUSD <= 0 {
		t.Errorf("metrics %+v", m)
	}
	var names []string
	var preview string
	for _, e := range evs[1 : len(evs)-1] {
		names = append(names, e.Name)
		var ev agent.Event
		if err := json.Unmarshal([]byte(e.Data), &ev); err != nil || string(ev.Type) != e.Name {
			t.Fatalf("event %s: %s (%v)", e.Name, e.Data, err)
		}
		if ev.Type == agent.EvToolResult && ev.ToolName == "preview_check" {
			preview = ev.Result
		}
	}
	for _, want := range []string{"turn_started", "thinking_delta", "text_delta", "tool_call", "tool_call_finished", "usage", "turn_finished"} {
		if !slices.Contains(names, want) {
			t.Errorf("no %s event in %v", want, names)
		}
	}
	if !strings.Contains(preview, "→ 200") || !strings.Contains(preview, "Hello from the agent") {
		t.Errorf("preview_check result %q", preview)
	}

	// the files are on disk, and the app answers through the preview
	if b, err := c.ReadFile(ctx, p.ID, "index.html"); err != nil || !strings.Contains(string(b), "Hello from the agent") {
		t.Errorf("index.html: %q, %v", b, err)
	}
	if code, body := previewGet(t, srv, c, p.ID, "/"); code != 200 || !strings.Contains(body, "Hello from the agent") {
		t.Errorf("preview: %d %q", code, body)
	}

	// the turn, its events and the conversation are stored
	var list struct {
		Turns []struct {
			ID, Prompt, Status, StopReason string
			Result                         agent.Result
			Events                         []agent.Event
		}
		Running *string
	}
	if err := c.Do(ctx, "GET", "/api/projects/"+p.ID+"/agent/turns", nil, "", &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Turns) != 1 || list.Running != nil {
		t.Fatalf("turns %+v", list)
	}
	tr := list.Turns[0]
	if tr.ID != final.TurnID || tr.Status != "finished" || tr.Result.Stop != agent.StopEndTurn || len(tr.Events) != len(evs)-2 ||
		tr.Result.Metrics.LinesAdded != m.LinesAdded || tr.Events[len(tr.Events)-1].Type != agent.EvTurnFinished {
		t.Errorf("stored turn %s %s %s: %d events (streamed %d)", tr.ID, tr.Status, tr.Result.Stop, len(tr.Events), len(evs)-2)
	}
	for i, e := range tr.Events {
		if e.Seq != i+1 {
			t.Fatalf("stored event %d has seq %d", i, e.Seq)
		}
	}
	sess, err := srv.Store.AgentSession(ctx, p.ID)
	var s agent.Session
	if err != nil || json.Unmarshal(sess, &s) != nil || len(s.Messages) != 8 {
		t.Errorf("stored session: %d messages, %v", len(s.Messages), err)
	}

	// the turn ended in a checkpoint that records what it cost
	cp, err := srv.Store.Checkpoint(ctx, p.ID, final.Result.CheckpointID)
	if err != nil {
		t.Fatalf("turn checkpoint %q: %v", final.Result.CheckpointID, err)
	}
	var cm struct {
		Trigger       string `json:"trigger"`
		TokensUsed    int64  `json:"tokens_used"`
		FilesAdded    int    `json:"files_added"`
		FilesModified int    `json:"files_modified"`
	}
	json.Unmarshal(cp.Metrics, &cm)
	if u := m.Usage; cp.Trigger != "agent" || cm.TokensUsed != u.PromptTokens()+u.OutputTokens || cm.TokensUsed == 0 || cm.FilesAdded+cm.FilesModified == 0 {
		t.Errorf("turn checkpoint %s metrics %s", cp.Trigger, cp.Metrics)
	}
}

func TestAgentUnconfigured(t *testing.T) {
	srv := agentServer(t, agentrun.Config{})
	c := srv.User(t, "nobody")
	ctx := context.Background()
	p, err := c.CreateProject(ctx, "agent", "")
	if err != nil {
		t.Fatal(err)
	}
	var status agentrun.Status
	if err := c.Do(ctx, "GET", "/api/agent/status", nil, "", &status); err != nil || status.Configured || !strings.Contains(status.Help, "ANTHROPIC_API_KEY") {
		t.Fatalf("status %+v, %v", status, err)
	}
	_, err = c.Raw(ctx, "POST", "/api/projects/"+p.ID+"/agent/turns", strings.NewReader(`{"prompt":"hi"}`), "application/json")
	if e, ok := err.(*client.Error); !ok || e.Status != 503 || e.Code != "agent_unconfigured" {
		t.Fatalf("turn without a provider: %v", err)
	}
}

// One turn at a time per project (409), and Stop cancels the running turn,
// whose stream then ends with the cancelled result.
func TestAgentBusyAndStop(t *testing.T) {
	fk, stalled := stallingModel(t)
	srv := agentServer(t, agentrun.Config{AnthropicAPIKey: "test-key", AnthropicBaseURL: fk.URL})
	c := srv.User(t, "stopper")
	ctx := context.Background()
	p, err := c.CreateProject(ctx, "agent", "")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Raw(ctx, "POST", "/api/projects/"+p.ID+"/agent/turns", strings.NewReader(`{"prompt":"take your time"}`), "application/json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	<-stalled
	_, err = c.Raw(ctx, "POST", "/api/projects/"+p.ID+"/agent/turns", strings.NewReader(`{"prompt":"again"}`), "application/json")
	if e, ok := err.(*client.Error); !ok || e.Status != 409 {
		t.Fatalf("second turn: %v", err)
	}
	var list struct{ Running *string }
	if err := c.Do(ctx, "GET", "/api/projects/"+p.ID+"/agent/turns", nil, "", &list); err != nil || list.Running == nil {
		t.Fatalf("running turn not listed: %+v %v", list, err)
	}
	var stop struct{ Stopped bool }
	if err := c.Do(ctx, "POST", "/api/projects/"+p.ID+"/agent/stop", nil, "", &stop); err != nil || !stop.Stopped {
		t.Fatalf("stop: %+v %v", stop, err)
	}
	evs := readAgentSSE(t, resp.Body)
	var final struct{ Result agent.Result }
	json.Unmarshal([]byte(evs[len(evs)-1].Data), &final)
	if evs[len(evs)-1].Name != "result" || final.Result.Stop != agent.StopCancelled {
		t.Fatalf("last event %+v", evs[len(evs)-1])
	}
	if err := c.Do(ctx, "POST", "/api/projects/"+p.ID+"/agent/stop", nil, "", &stop); err != nil || stop.Stopped {
		t.Errorf("second stop: %+v %v", stop, err)
	}
	if r, err := c.Raw(ctx, "GET", "/api/projects/"+p.ID+"/agent/stream", nil, ""); err != nil || r.StatusCode != 204 {
		t.Errorf("stream without a turn: %v %v", r, err)
	}
}

// stallingModel is a fake model whose answer stalls after a few bytes
// (until the test ends): a turn that keeps running. stalled closes once it
// has stalled.
func stallingModel(t *testing.T) (*fake.Anthropic, <-chan struct{}) {
	stalled := make(chan struct{})
	fk := fake.NewAnthropic(&fake.Transcript{Name: "stall", Steps: []fake.Step{{
		Faults:  []fake.Fault{{Type: "stall", After: 4}},
		Respond: fake.Respond{StopReason: "end_turn", Content: []fake.Content{fake.Text("thinking about it for a long while")}},
	}}})
	fk.ChunkSize = 4
	fk.OnStall = func(<-chan struct{}) { close(stalled) }
	t.Cleanup(fk.Close)
	return fk, stalled
}
