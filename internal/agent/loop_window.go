// How a turn keeps its conversation inside the model's context window.

package agent

import (
	"context"
	"fmt"
)

// manageContext keeps the prompt inside the model's window: first old tool
// results become placeholders (in place: the order, and so the cached
// prefix up to the first trimmed block, is kept), then a summary replaces
// the middle of the conversation.
func (t *turn) manageContext(ctx context.Context) error {
	win := t.plan.Model.ContextWindow
	if win <= 0 {
		return nil
	}
	room := float64(win - t.plan.MaxTokens)
	if room <= 0 {
		room = float64(win)
	}
	est := t.estimatePrompt()
	if float64(est) < t.a.cfg.TrimAt*room {
		return nil
	}
	if t.trim() > 0 {
		t.lastPrompt = 0 // the measurement no longer applies
		est = t.estimatePrompt()
	}
	if float64(est) < t.a.cfg.SummariseAt*room || t.compactedLast {
		return nil
	}
	return t.summarise(ctx)
}

func (t *turn) trim() int {
	keep := t.a.cfg.KeepToolResults
	var idx [][2]int
	for i, m := range t.sess.Messages {
		for j, b := range m.Blocks {
			if b.Type == BlockToolResult && !b.Trimmed {
				idx = append(idx, [2]int{i, j})
			}
		}
	}
	n := 0
	for k := 0; k < len(idx)-keep; k++ {
		b := &t.sess.Messages[idx[k][0]].Blocks[idx[k][1]]
		if len(b.Content) < 200 && len(b.Images) == 0 {
			continue
		}
		b.Content = fmt.Sprintf("[output of %s elided to save context (%d bytes); run it again if needed]", t.toolNames[b.ToolUseID], len(b.Content))
		b.Trimmed = true
		b.Images = nil
		n++
	}
	if n > 0 {
		t.metrics.Compactions++
		t.emit(Event{Type: EvCompacted, Reason: "trimmed", Text: fmt.Sprintf("%d old tool results replaced by placeholders", n)})
	}
	return n
}

const summaryPrompt = `Summarise the conversation so far for your own later use, as it will replace the earlier messages. Sections: TASK (the user's request and acceptance criteria); FILES (created or changed, with purpose); APP STATE (run command, port, database schema); TESTS/BUILD status; DECISIONS; OPEN TODOS; KNOWN ERRORS. Be concise and precise. Do not call tools.`

// summarise replaces everything between the first request and the last
// few exchanges with a model-written summary.
func (t *turn) summarise(ctx context.Context) error {
	msgs := t.sess.Messages
	// the kept tail starts at an assistant message, at most 4 messages from the end
	cut := -1
	for i := max(1, len(msgs)-4); i < len(msgs); i++ {
		if msgs[i].Role == RoleAssistant {
			cut = i
			break
		}
	}
	if cut <= 1 {
		return nil // nothing worth summarising
	}
	head := append([]Message(nil), msgs[:cut]...)
	// ask for the summary in the last user message of the head (after any tool results)
	if head[len(head)-1].Role != RoleUser {
		head = append(head, Message{Role: RoleUser})
	}
	last := head[len(head)-1]
	last.Blocks = append(append([]Block(nil), last.Blocks...), Block{Type: BlockText, Text: summaryPrompt})
	head[len(head)-1] = last
	info, ok := t.a.cfg.Models.Lookup(t.a.cfg.SummaryModel)
	if !ok {
		info = t.plan.Model
	}
	req := Request{Model: info.ID, System: t.a.cfg.System, Tools: t.a.specs, Messages: head, MaxTokens: 4096, NoTools: true}
	if stop := t.refuseCall(t.a.estimate(head), req.MaxTokens); stop != "" {
		return capError(stop)
	}
	resp, err := t.call(ctx, req, false)
	if err != nil {
		return err
	}
	t.account(resp.Usage, info.Price)
	first := ""
	for _, b := range msgs[0].Blocks {
		if b.Type == BlockText {
			first += b.Text
		}
	}
	sum := Message{Role: RoleUser, Blocks: []Block{{Type: BlockText, Text: first + "\n\n<summary of the work so far>\n" + textOf(resp.Message) + "\n</summary>"}}}
	t.sess.Messages = append([]Message{sum}, msgs[cut:]...)
	t.lastPrompt = 0
	t.compactedLast = true
	t.metrics.Compactions++
	t.emit(Event{Type: EvCompacted, Reason: "summarised", Text: fmt.Sprintf("%d messages replaced by a summary", cut)})
	return nil
}
