// How a turn runs the model's tool calls.

package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
)

type callResult struct {
	out  toolOutput
	dur  time.Duration
	name string
}

// runTools runs the calls of msg: consecutive read-only calls in parallel,
// the others one at a time in order. It returns one result per call in
// order, the ask_user result if there was one, and a loop description.
func (t *turn) runTools(ctx context.Context, msg Message) ([]Block, *Block, string) {
	type call struct {
		b    Block
		in   map[string]any
		tool *tool
		err  string
	}
	var calls []call
	for _, b := range msg.Blocks {
		if b.Type != BlockToolUse {
			continue
		}
		t.toolNames[b.ID] = b.Name
		c := call{b: b}
		in, err := parseInput(b.Input)
		if err != nil {
			c.err = err.Error() + ". The call was not run; send it again with complete JSON."
		}
		c.in = in
		for i := range t.a.tools {
			if t.a.tools[i].spec.Name == b.Name {
				c.tool = &t.a.tools[i]
			}
		}
		if c.tool == nil && c.err == "" {
			c.err = fmt.Sprintf("unknown tool %q", b.Name)
		}
		calls = append(calls, c)
	}
	results := make([]Block, len(calls))
	outs := make([]callResult, len(calls))
	tc := &toolCtx{env: t.a.cfg.Env, sess: t.sess}
	exec := func(i int) {
		c := calls[i]
		t.emit(Event{Type: EvToolCall, ToolID: c.b.ID, ToolName: c.b.Name, Input: c.b.Input})
		var o toolOutput
		t0 := time.Now()
		switch {
		case c.err != "":
			o = toolOutput{Text: c.err, IsError: true}
		case ctx.Err() != nil:
			o = toolOutput{Text: "skipped: the run was stopped", IsError: true}
		default:
			tctx, sp := startSpan(ctx, "agent tool", attribute.String("gen_ai.tool.name", c.b.Name))
			o = c.tool.run(tctx, tc, c.in)
			if o.IsError {
				sp.SetStatus(codes.Error, "tool failed")
			}
			sp.End()
		}
		if r := t.a.cfg.Env.Redactor; r != nil {
			o.Text = r.Redact(o.Text)
			o.Diff = r.Redact(o.Diff)
		}
		outs[i] = callResult{out: o, dur: time.Since(t0), name: c.b.Name}
	}
	for i := 0; i < len(calls); {
		ro := calls[i].tool != nil && calls[i].err == "" && calls[i].tool.readOnly(calls[i].in)
		if !ro {
			exec(i)
			i++
			continue
		}
		j := i
		for j < len(calls) && calls[j].tool != nil && calls[j].err == "" && calls[j].tool.readOnly(calls[j].in) {
			j++
		}
		if j-i == 1 {
			exec(i)
		} else {
			var wg sync.WaitGroup
			for k := i; k < j; k++ {
				wg.Add(1)
				go func() { defer wg.Done(); exec(k) }()
			}
			wg.Wait()
		}
		i = j
	}
	var ask *Block
	looped := ""
	for i, c := range calls {
		o := outs[i].out
		t.metrics.ToolCalls++
		t.metrics.ToolTime += outs[i].dur
		results[i] = Block{Type: BlockToolResult, ToolUseID: c.b.ID, Content: o.Text, IsError: o.IsError, Images: o.Images}
		if o.Text == "" {
			results[i].Content = "(no output)"
		}
		if o.Path != "" && (c.b.Name == "write" || c.b.Name == "edit") && !o.IsError {
			t.files[o.Path] = true
			t.metrics.LinesAdded += o.Added
			t.metrics.LinesRemoved += o.Removed
		}
		ev := Event{Type: EvToolResult, ToolID: c.b.ID, ToolName: c.b.Name, Result: o.Text, IsError: o.IsError, Path: o.Path, Diff: o.Diff, Added: o.Added, Removed: o.Removed}
		if o.Ask {
			ev.Result = "waiting for the user's answer"
		}
		t.emit(ev)
		if o.SecretRequest != nil {
			t.emit(Event{Type: EvSecretRequest, ToolID: c.b.ID, Name: o.SecretRequest.Name, Reason: o.SecretRequest.Reason})
		}
		if c.b.Name == "todo_write" && !o.IsError {
			t.emit(Event{Type: EvTodo, Todos: append([]Todo(nil), t.sess.Todos...)})
		}
		if o.Ask && ask == nil {
			ask = &results[i]
		}
		key := c.b.Name + "\x00" + hashOf(canonical(c.b.Input)) + "\x00" + hashOf([]byte(o.Text))
		t.repeats[key]++
		if t.repeats[key] >= t.a.cfg.LoopRepeats && looped == "" {
			looped = fmt.Sprintf("loop detected: %s called %d times with the same input and the same result", c.b.Name, t.repeats[key])
		}
	}
	return results, ask, looped
}

// canonical re-encodes JSON so that key order and spacing do not matter.
func canonical(raw json.RawMessage) []byte {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return raw
	}
	b, _ := json.Marshal(v)
	return b
}
