package agent

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"ecode/internal/agent/fake"
)

func run(t *testing.T, p *project, cfg Config, text string, mode Mode) *Result {
	t.Helper()
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.Run(context.Background(), &Session{}, text, mode)
	if err != nil && res.Stop != StopError {
		t.Fatal(err)
	}
	return res
}

func TestLoopDetector(t *testing.T) {
	p := newProject(t)
	p.files.WriteFile(context.Background(), "README.md", []byte("hello\n"))
	srv, prov := anthropicFake(t, loadT(t, "loop.json"))
	res := run(t, p, p.config(prov), "what is this project?", Mode{})
	noFailures(t, srv)
	if res.Stop != StopLoop || res.Metrics.Steps != 3 || srv.StepsDone() != 3 {
		t.Fatalf("stop %s steps %d server %d", res.Stop, res.Metrics.Steps, srv.StepsDone())
	}
	if !strings.Contains(res.Text, "read called 3 times") {
		t.Errorf("text %q", res.Text)
	}
}

// runaway is a transcript whose model never stops: distinct bash calls.
func runaway(n int, usage *fake.Usage) *fake.Transcript {
	tr := &fake.Transcript{Name: "runaway"}
	for i := range n {
		tr.Steps = append(tr.Steps, fake.Step{Respond: fake.Respond{Usage: usage, StopReason: "tool_use",
			Content: []fake.Content{fake.Tool("bash", map[string]any{"command": fmt.Sprintf("echo step %d", i)})}}})
	}
	return tr
}

func TestCaps(t *testing.T) {
	big := &fake.Usage{InputTokens: 2000, CacheRead: 8000, OutputTokens: 500}
	cases := []struct {
		name   string
		limits Limits
		tick   time.Duration // fake time each shell command takes
		want   StopReason
		steps  int
	}{
		{"steps", Limits{MaxSteps: 3, MaxOutputTokens: 4000}, 0, StopCapSteps, 3},
		{"wall", Limits{MaxWall: 5 * time.Minute, MaxOutputTokens: 4000}, time.Minute, StopCapWall, 5},
		// each call: ≤ prompt + 4000 output; measured 10500 a call
		{"tokens", Limits{MaxTokens: 60000, MaxOutputTokens: 4000}, 0, StopCapTokens, 0},
		// sonnet 5.5: a call's worst case is prompt×$2.5/M + 4000×$10/M ≈ $0.07
		{"cost", Limits{MaxCostUSD: 0.25, MaxOutputTokens: 4000}, 0, StopCapCost, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newProject(t)
			if c.tick > 0 {
				p.shell.onExec = func() { p.clock.Advance(c.tick) }
			}
			srv, prov := anthropicFake(t, runaway(100, big))
			cfg := p.config(prov)
			cfg.Limits = func(Mode) Limits { return c.limits }
			res := run(t, p, cfg, "loop forever", Mode{})
			noFailures(t, srv)
			if res.Stop != c.want {
				t.Fatalf("stop %s want %s", res.Stop, c.want)
			}
			m := res.Metrics
			if c.steps > 0 && m.Steps != c.steps {
				t.Errorf("steps %d want %d", m.Steps, c.steps)
			}
			if c.limits.MaxTokens > 0 && m.Usage.PromptTokens()+m.Usage.OutputTokens > c.limits.MaxTokens {
				t.Errorf("tokens %d over the cap", m.Usage.PromptTokens()+m.Usage.OutputTokens)
			}
			if c.limits.MaxCostUSD > 0 && m.CostUSD > c.limits.MaxCostUSD {
				t.Errorf("cost %v over the cap", m.CostUSD)
			}
			if c.want == StopCapTokens || c.want == StopCapCost {
				// refused before: one more call would have crossed the cap
				if m.Steps < 2 || srv.StepsDone() != m.Steps {
					t.Errorf("steps %d, server %d", m.Steps, srv.StepsDone())
				}
			}
			if c.want == StopCapWall && m.Wall < 5*time.Minute {
				t.Errorf("wall %s", m.Wall)
			}
			fin := p.rec.of(EvTurnFinished)
			if len(fin) != 1 || fin[0].Stop != c.want || fin[0].Caps == nil {
				t.Errorf("finish event %+v", fin)
			}
		})
	}
}

// A stalled stream is aborted by the watchdog (on the fake clock) and retried.
func TestStallWatchdog(t *testing.T) {
	p := newProject(t)
	tr := &fake.Transcript{Steps: []fake.Step{{
		Faults:  []fake.Fault{{Attempt: 1, Type: "stall", After: 3}},
		Respond: fake.Respond{Content: []fake.Content{fake.Text("done after a stall")}, StopReason: "end_turn"},
	}}}
	srv, inner := anthropicFake(t, tr)
	seen := make(chan struct{}, 100)
	prov := &notifying{Provider: inner, seen: seen}
	srv.OnStall = func(done <-chan struct{}) {
		// wait until the client has handled the 3 events sent before the
		// stall (each one resets the watchdog), then let the watchdog's time pass
		for range 3 {
			<-seen
		}
		p.clock.Advance(90 * time.Second)
	}
	res := run(t, p, p.config(prov), "hi", Mode{})
	noFailures(t, srv)
	if res.Stop != StopEndTurn || res.Metrics.Retries != 1 || res.Text != "done after a stall" {
		t.Fatalf("%s retries %d %q", res.Stop, res.Metrics.Retries, res.Text)
	}
	if r := p.rec.of(EvRetry); len(r) != 1 || !strings.HasPrefix(r[0].Reason, "stall") {
		t.Errorf("retry events %+v", r)
	}
}

func TestNonRetryableErrors(t *testing.T) {
	for _, f := range []fake.Fault{
		{Type: "http", Status: 400},
		{Type: "http", Status: 429, ErrorCode: "enforced_spend_limit_reached", RetryAfter: "1"},
	} {
		p := newProject(t)
		tr := &fake.Transcript{Steps: []fake.Step{{Faults: []fake.Fault{f}, Respond: fake.Respond{Content: []fake.Content{fake.Text("x")}, StopReason: "end_turn"}}}}
		srv, prov := anthropicFake(t, tr)
		a, _ := New(p.config(prov))
		res, err := a.Run(context.Background(), &Session{}, "hi", Mode{})
		pe, ok := asProviderError(err)
		if res.Stop != StopError || !ok || pe.Status != f.Status || len(srv.Requests()) != 1 {
			t.Errorf("%d: stop %s err %v requests %d", f.Status, res.Stop, err, len(srv.Requests()))
		}
	}
	// retries run out
	p := newProject(t)
	tr := &fake.Transcript{Steps: []fake.Step{{Faults: []fake.Fault{{Type: "http", Status: 529}}, Respond: fake.Respond{StopReason: "end_turn"}}}}
	srv, prov := anthropicFake(t, tr)
	cfg := p.config(prov)
	cfg.MaxRetries = 2
	a, _ := New(cfg)
	res, _ := a.Run(context.Background(), &Session{}, "hi", Mode{})
	if res.Stop != StopError || len(srv.Requests()) != 3 || p.clock.TotalSlept() != 6*time.Second {
		t.Errorf("stop %s requests %d slept %s", res.Stop, len(srv.Requests()), p.clock.TotalSlept())
	}
}

// notifying reports every stream event the loop has handled.
type notifying struct {
	Provider
	seen chan struct{}
}

func (n *notifying) Stream(ctx context.Context, req Request, fn func(StreamEvent)) (*Response, error) {
	return n.Provider.Stream(ctx, req, func(ev StreamEvent) {
		fn(ev)
		select {
		case n.seen <- struct{}{}:
		default:
		}
	})
}

// 429 with retry-after-ms: the loop waits exactly that long (fake clock) and
// retries; every step is persisted.
func TestRateLimitRetryAfterMs(t *testing.T) {
	p := newProject(t)
	tr := oneStepTool("bash", map[string]any{"command": "echo hi"})
	tr.Steps[0].Faults = []fake.Fault{{Attempt: 1, Type: "http", Status: 429, RetryAfterMs: "1500"}, {Attempt: 2, Type: "http", Status: 429, RetryAfter: "2"}}
	srv, prov := anthropicFake(t, tr)
	cfg := p.config(prov)
	saves := &countingPersister{}
	cfg.Env.Persist = saves
	res := run(t, p, cfg, "hi", Mode{})
	noFailures(t, srv)
	if res.Stop != StopEndTurn || res.Metrics.Retries != 2 || p.clock.TotalSlept() != 3500*time.Millisecond {
		t.Fatalf("stop %s retries %d slept %s", res.Stop, res.Metrics.Retries, p.clock.TotalSlept())
	}
	if saves.n < 2 {
		t.Errorf("%d saves", saves.n)
	}
}

type countingPersister struct{ n int }

func (c *countingPersister) SaveSession(context.Context, *Session) error { c.n++; return nil }
