package agent

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
)

type turn struct {
	a    *Agent
	sess *Session
	plan Plan
	mode Mode

	mu   sync.Mutex // guards sink emission
	seq  int
	step int

	start     time.Time // injected clock
	realStart time.Time
	metrics   Metrics
	files     map[string]bool
	tokens    int64
	cost      float64
	repeats   map[string]int
	toolNames map[string]string // tool_use id → name
	// what the last call measured: prompt tokens, output tokens and the
	// message count it saw, to estimate the next prompt
	lastPrompt, lastOutput int64
	lastMsgs               int
	compactedLast          bool
	wallHit                atomic.Bool
}

func (t *turn) emit(e Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seq++
	e.Seq = t.seq
	e.Step = t.step
	e.Time = t.a.cfg.Clock.Now()
	t.a.cfg.Sink.Emit(e)
}

func (t *turn) caps() *CapsStatus {
	l := t.plan.Limits
	return &CapsStatus{Steps: t.step, MaxSteps: l.MaxSteps, Elapsed: t.a.cfg.Clock.Now().Sub(t.start), MaxWall: l.MaxWall,
		Tokens: t.tokens, MaxTokens: l.MaxTokens, CostUSD: t.cost, MaxCostUSD: l.MaxCostUSD}
}

// Run runs one turn: userText is the user's request, or the answer to the
// question of a turn that ended with StopWaitingForUser. The error is non-nil
// only for failures the turn could not turn into a stop reason (a provider
// error after all retries); the Result is always filled in.
func (a *Agent) Run(ctx context.Context, sess *Session, userText string, mode Mode) (*Result, error) {
	t := &turn{a: a, sess: sess, plan: a.plan(mode), mode: mode, start: a.cfg.Clock.Now(), realStart: time.Now(),
		files: map[string]bool{}, repeats: map[string]int{}, toolNames: map[string]string{}}
	if sess.ReadHashes == nil {
		sess.ReadHashes = map[string]string{}
	}
	if sess.Model != "" && sess.Model != t.plan.Model.ID {
		stripThinking(sess.Messages) // thinking is bound to the model that wrote it
	}
	sess.Model = t.plan.Model.ID
	ctx, span := startSpan(ctx, "agent turn", attribute.String("gen_ai.request.model", t.plan.Model.ID))
	for _, m := range sess.Messages {
		for _, b := range m.Blocks {
			if b.Type == BlockToolUse {
				t.toolNames[b.ID] = b.Name
			}
		}
	}

	// the user message: pending tool results (with the answer) first
	var blocks []Block
	if sess.PendingAskID != "" {
		for _, b := range sess.Pending {
			if b.ToolUseID == sess.PendingAskID {
				b.Content = "The user answered: " + userText
			}
			blocks = append(blocks, b)
		}
		sess.Pending, sess.PendingAskID = nil, ""
	} else {
		blocks = []Block{{Type: BlockText, Text: userText}}
	}
	if n := len(sess.Messages); n > 0 && sess.Messages[n-1].Role == RoleUser {
		// a turn stopped (cap, cancel) right after tool results: one user
		// message holds the results first, then the new text
		last := &sess.Messages[n-1]
		last.Blocks = append(append([]Block(nil), last.Blocks...), blocks...)
	} else {
		sess.Messages = append(sess.Messages, Message{Role: RoleUser, Blocks: blocks})
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if l := t.plan.Limits.MaxWall; l > 0 {
		wt := a.cfg.Clock.AfterFunc(l, func() { t.wallHit.Store(true); cancel() })
		defer wt.Stop()
	}
	t.emit(Event{Type: EvTurnStarted, Text: userText, Caps: t.caps()})
	res, err := t.loop(ctx)
	if res.Stop == StopCancelled && t.wallHit.Load() {
		res.Stop = StopCapWall
	}
	t.finish(context.WithoutCancel(ctx), res)
	endTurnSpan(span, res)
	return res, err
}

func (t *turn) loop(ctx context.Context) (*Result, error) {
	a := t.a
	continuations := 0
	lastText := ""
	for {
		if ctx.Err() != nil {
			return &Result{Stop: StopCancelled, Text: lastText}, nil
		}
		if err := t.manageContext(ctx); err != nil {
			var ce capError
			if errors.As(err, &ce) {
				return &Result{Stop: StopReason(ce), Text: lastText}, nil
			}
			return t.callFailed(ctx, err, lastText)
		}
		req := Request{Model: t.plan.Model.ID, System: a.cfg.System, Tools: a.specs, Messages: t.sess.Messages,
			MaxTokens: t.plan.MaxTokens, Thinking: t.plan.Thinking, WebSearch: t.plan.WebSearch}
		if stop := t.refuse(t.estimatePrompt()); stop != "" {
			return &Result{Stop: stop, Text: lastText}, nil
		}
		resp, err := t.call(ctx, req, true)
		if err != nil {
			return t.callFailed(ctx, err, lastText)
		}
		t.step++
		t.compactedLast = false
		t.account(resp.Usage, t.plan.Model.Price)
		t.lastMsgs = len(t.sess.Messages)
		if s := textOf(resp.Message); s != "" {
			lastText = s
		}
		if resp.StopReason != "max_tokens" {
			continuations = 0
		}
		switch resp.StopReason {
		case "tool_use":
			t.sess.Messages = append(t.sess.Messages, resp.Message)
			results, ask, looped := t.runTools(ctx, resp.Message)
			if ask != nil {
				t.sess.Pending, t.sess.PendingAskID = results, ask.ToolUseID
				t.persist(ctx)
				t.emit(Event{Type: EvWaitingForUser, ToolID: ask.ToolUseID, Text: ask.Content})
				return &Result{Stop: StopWaitingForUser, Text: lastText, Question: ask.Content}, nil
			}
			t.sess.Messages = append(t.sess.Messages, Message{Role: RoleUser, Blocks: results})
			t.persist(ctx)
			if looped != "" {
				return &Result{Stop: StopLoop, Text: lastText + "\n[stopped: " + looped + "]"}, nil
			}
			if ctx.Err() != nil {
				return &Result{Stop: StopCancelled, Text: lastText}, nil
			}
		case "pause_turn":
			// resend the paused assistant turn unchanged; run nothing
			t.sess.Messages = append(t.sess.Messages, resp.Message)
		case "max_tokens":
			continuations++
			t.sess.Messages = append(t.sess.Messages, resp.Message)
			var fix []Block
			for _, b := range resp.Message.Blocks {
				if b.Type == BlockToolUse { // possibly cut off: never run it
					fix = append(fix, Block{Type: BlockToolResult, ToolUseID: b.ID, IsError: true,
						Content: "Not run: your output hit the max_tokens limit before this call was complete. Issue it again; split large files into several smaller writes or use edit."})
				}
			}
			fix = append(fix, Block{Type: BlockText, Text: "Your last response was cut off at the output limit. Continue exactly where you stopped."})
			t.sess.Messages = append(t.sess.Messages, Message{Role: RoleUser, Blocks: fix})
			t.persist(ctx)
			if continuations > a.cfg.MaxContinuations {
				return &Result{Stop: StopMaxTokens, Text: lastText}, nil
			}
		case "end_turn", "stop_sequence":
			t.sess.Messages = append(t.sess.Messages, resp.Message)
			t.persist(ctx)
			if resp.StopReason == "stop_sequence" {
				return &Result{Stop: StopSequence, Text: lastText}, nil
			}
			return &Result{Stop: StopEndTurn, Text: lastText}, nil
		case "refusal":
			// the refused turn's calls never run; keep a neutral placeholder
			t.sess.Messages = append(t.sess.Messages, Message{Role: RoleAssistant, Blocks: []Block{{Type: BlockText, Text: "(This response was declined.)"}}})
			t.persist(ctx)
			return &Result{Stop: StopRefusal, Text: lastText}, nil
		case "model_context_window_exceeded":
			if t.compactedLast {
				return &Result{Stop: StopError, Text: "context window exceeded after compaction"}, nil
			}
			if err := t.summarise(ctx); err != nil {
				return t.callFailed(ctx, err, lastText)
			}
		default:
			t.sess.Messages = append(t.sess.Messages, stripToolUse(resp.Message))
			t.persist(ctx)
			return &Result{Stop: StopUnknown, Text: lastText + "\n[unknown stop reason " + resp.StopReason + "]"}, nil
		}
	}
}

func stripToolUse(m Message) Message {
	var out []Block
	for _, b := range m.Blocks {
		if b.Type != BlockToolUse {
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		out = []Block{{Type: BlockText, Text: "(no text)"}}
	}
	return Message{Role: m.Role, Blocks: out}
}

func (t *turn) callFailed(ctx context.Context, err error, text string) (*Result, error) {
	if ctx.Err() != nil {
		return &Result{Stop: StopCancelled, Text: text}, nil
	}
	return &Result{Stop: StopError, Text: text + "\n[" + err.Error() + "]"}, err
}

func (t *turn) persist(ctx context.Context) {
	if p := t.a.cfg.Env.Persist; p != nil {
		_ = p.SaveSession(ctx, t.sess)
	}
}

// estimatePrompt estimates the next call's prompt: what the last call
// measured plus what was appended since, or a character estimate of all.
func (t *turn) estimatePrompt() int64 {
	if t.lastPrompt > 0 && t.lastMsgs <= len(t.sess.Messages) {
		return t.lastPrompt + t.lastOutput + int64(charsOf(t.sess.Messages[t.lastMsgs:])/3+1)
	}
	return t.a.estimate(t.sess.Messages)
}

// capError stops the turn at a cap from inside context management.
type capError StopReason

func (c capError) Error() string { return string(c) }

// refuse returns the cap that the next call could cross, before it starts.
func (t *turn) refuse(prompt int64) StopReason { return t.refuseCall(prompt, t.plan.MaxTokens) }

func (t *turn) refuseCall(prompt, maxOut int64) StopReason {
	l := t.plan.Limits
	p := t.plan
	p.MaxTokens = maxOut
	switch {
	case l.MaxSteps > 0 && t.step >= l.MaxSteps:
		return StopCapSteps
	case l.MaxWall > 0 && t.a.cfg.Clock.Now().Sub(t.start) >= l.MaxWall:
		return StopCapWall
	case l.MaxTokens > 0 && t.tokens+prompt+maxOut > l.MaxTokens:
		return StopCapTokens
	case l.MaxCostUSD > 0 && t.cost+maxCallCost(p, prompt) > l.MaxCostUSD:
		return StopCapCost
	}
	return ""
}

func (t *turn) account(u Usage, price Price) {
	c := price.Cost(u)
	t.cost += c
	t.tokens += u.PromptTokens() + u.OutputTokens
	t.lastPrompt, t.lastOutput = u.PromptTokens(), u.OutputTokens
	t.metrics.Steps = t.step
	t.metrics.Usage = t.metrics.Usage.Add(u)
	t.metrics.CostUSD = t.cost
	uu := u
	t.emit(Event{Type: EvUsage, Usage: &uu, CostUSD: c})
	t.emit(Event{Type: EvCaps, Caps: t.caps()})
}

// call makes one model call with retries and the stall watchdog.
func (t *turn) call(ctx context.Context, req Request, forward bool) (*Response, error) {
	a := t.a
	for attempt := 1; ; attempt++ {
		t.metrics.Attempts++
		t0 := time.Now()
		resp, err := t.callOnce(ctx, req, forward)
		t.metrics.ModelTime += time.Since(t0)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		pe, ok := asProviderError(err)
		if !ok || !pe.Retryable() || attempt > a.cfg.MaxRetries {
			return nil, err
		}
		d := a.backoff(attempt)
		if pe.RetryAfter > 0 {
			d = min(pe.RetryAfter, a.cfg.MaxRetryAfter)
		}
		t.metrics.Retries++
		t.emit(Event{Type: EvRetry, Attempt: attempt + 1, Reason: fmt.Sprintf("%s %d %s", pe.Kind, pe.Status, pe.Type), Text: "discard the partial output of the failed attempt"})
		if err := a.cfg.Clock.Sleep(ctx, d); err != nil {
			return nil, err
		}
	}
}

func (t *turn) callOnce(ctx context.Context, req Request, forward bool) (*Response, error) {
	a := t.a
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var stalled atomic.Bool
	timer := a.cfg.Clock.AfterFunc(a.cfg.StallTimeout, func() { stalled.Store(true); cancel() })
	defer timer.Stop()
	fn := func(ev StreamEvent) {
		timer.Reset(a.cfg.StallTimeout)
		if !forward {
			return
		}
		switch ev.Kind {
		case StreamTextDelta:
			t.emit(Event{Type: EvTextDelta, Index: ev.Index, Text: ev.Text})
		case StreamThinkingDelta:
			t.emit(Event{Type: EvThinkingDelta, Index: ev.Index, Text: ev.Text})
		case StreamToolUseStart:
			t.emit(Event{Type: EvToolStarted, Index: ev.Index, ToolID: ev.ID, ToolName: ev.Name})
		case StreamToolInputDelta:
			if ev.Text != "" {
				t.emit(Event{Type: EvToolInputDelta, Index: ev.Index, Text: ev.Text})
			}
		case StreamServerBlock:
			t.emit(Event{Type: EvServerBlock, Index: ev.Index, ToolID: ev.ID, ToolName: ev.Name, Reason: ev.Text})
		}
	}
	cctx, sp := startSpan(cctx, "model call", attribute.String("gen_ai.request.model", req.Model),
		attribute.Int64("gen_ai.request.max_tokens", req.MaxTokens))
	resp, err := a.cfg.Provider.Stream(cctx, req, fn)
	if stalled.Load() && ctx.Err() == nil {
		resp, err = nil, &ProviderError{Kind: ErrStall, Message: fmt.Sprintf("no stream event for %s", a.cfg.StallTimeout)}
	}
	endCallSpan(sp, resp, err)
	return resp, err
}

func (t *turn) finish(ctx context.Context, res *Result) {
	files := make([]string, 0, len(t.files))
	for f := range t.files {
		files = append(files, f)
	}
	sort.Strings(files)
	t.metrics.FilesModified = files
	t.metrics.Wall = t.a.cfg.Clock.Now().Sub(t.start)
	elapsed := time.Since(t.realStart)
	t.metrics.Overhead = max(0, elapsed-t.metrics.ModelTime-t.metrics.ToolTime)
	t.metrics.Steps = t.step
	t.metrics.CostUSD = t.cost
	if cp := t.a.cfg.Env.Checkpoints; cp != nil && len(files) > 0 && res.Stop != StopWaitingForUser {
		label := strings.TrimSpace(res.Text)
		if len(label) > 120 {
			label = label[:120]
		}
		u := t.metrics.Usage
		cost := TurnCost{Tokens: u.PromptTokens() + u.OutputTokens, Time: t.metrics.Wall}
		if id, err := cp.Checkpoint(ctx, label, cost); err == nil {
			res.CheckpointID = id
			t.emit(Event{Type: EvCheckpoint, Text: id, CostUSD: t.cost})
		}
	}
	res.Metrics = t.metrics
	m := t.metrics
	t.emit(Event{Type: EvTurnFinished, Stop: res.Stop, Text: res.Text, Metrics: &m, Caps: t.caps(), CostUSD: t.cost})
	t.persist(ctx)
}
