package fake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
)

// OpenAI is a fake OpenAI-compatible /v1/chat/completions server (as
// served by Ollama, vLLM or llama.cpp), streaming chunks with tool_calls
// deltas, a usage chunk and [DONE]. Thinking and web search content of a
// transcript is skipped (those servers have neither).
type OpenAI struct {
	core
	*httptest.Server
}

// NewOpenAI starts a fake OpenAI-compatible server on 127.0.0.1 playing t.
// Its base URL for clients is URL + "/v1".
func NewOpenAI(t *Transcript) *OpenAI {
	f := &OpenAI{core: core{t: t, APIKey: "test-key"}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.handle))
	return f
}

func oaiError(w http.ResponseWriter, status int, msg string, hdr map[string]string) {
	for k, v := range hdr {
		if v != "" {
			w.Header().Set(k, v)
		}
	}
	w.Header().Set("content-type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": "invalid_request_error", "code": nil}})
}

func (f *OpenAI) handle(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		oaiError(w, 404, "fake: only POST /v1/chat/completions", nil)
		return
	}
	if strings.TrimPrefix(r.Header.Get("authorization"), "Bearer ") != f.APIKey {
		oaiError(w, 401, "invalid api key", nil)
		return
	}
	_, body, step, idx, attempt, err := f.begin(r)
	if err != nil {
		oaiError(w, 400, "body is not JSON", nil)
		return
	}
	if msg := validateOpenAI(body); msg != "" {
		f.reject(msg)
		oaiError(w, 400, msg, nil)
		return
	}
	if step == nil {
		f.reject("fake: transcript exhausted")
		oaiError(w, 400, "fake: transcript exhausted", nil)
		return
	}
	if attempt == 1 && step.Expect != nil {
		e := *step.Expect
		e.Thinking, e.Effort = "", ""
		for _, s := range checkExpect(openaiView(body), &e) {
			f.fail("step %d: %s", idx, s)
		}
	}
	fault := faultFor(step, attempt)
	if fault != nil && fault.Type == "http" {
		oaiError(w, fault.Status, "fake fault", map[string]string{"retry-after": fault.RetryAfter, "retry-after-ms": fault.RetryAfterMs})
		return
	}
	chunks := f.chunks(step.Respond, idx, body)
	w.Header().Set("content-type", "text/event-stream")
	w.WriteHeader(200)
	fl := w.(http.Flusher)
	for i, c := range chunks {
		if fault != nil && fault.After == i {
			switch fault.Type {
			case "stream_error":
				fmt.Fprintf(w, "data: %s\n\n", `{"error":{"message":"server overloaded","type":"server_error"}}`)
				fl.Flush()
				return
			case "truncate":
				fl.Flush()
				return
			case "stall":
				fl.Flush()
				if f.OnStall != nil {
					f.OnStall(r.Context().Done())
				}
				<-r.Context().Done()
				return
			}
		}
		fmt.Fprintf(w, "data: %s\n\n", mustJSON(c))
		fl.Flush()
	}
	// the step is answered before [DONE] leaves: the client may send its
	// next request as soon as it reads it
	f.done()
	fmt.Fprint(w, "data: [DONE]\n\n")
	fl.Flush()
}

func (f *OpenAI) chunks(resp Respond, step int, body map[string]any) []ev {
	base := func(delta ev, finish any) ev {
		return ev{"id": fmt.Sprintf("chatcmpl-%d", step), "object": "chat.completion.chunk", "created": 1, "model": body["model"],
			"choices": []any{ev{"index": 0, "delta": delta, "finish_reason": finish}}}
	}
	n := f.chunk()
	out := []ev{base(ev{"role": "assistant", "content": ""}, nil)}
	tc := 0
	for i, c := range resp.Content {
		switch {
		case c.Thinking != nil:
			for _, p := range split(*c.Thinking, n) {
				out = append(out, base(ev{"reasoning_content": p}, nil))
			}
		case c.Text != nil:
			for _, p := range split(*c.Text, n) {
				out = append(out, base(ev{"content": p}, nil))
			}
		case c.ToolUse != nil:
			id := fmt.Sprintf("call_%d_%d", step, i)
			out = append(out, base(ev{"tool_calls": []any{ev{"index": tc, "id": id, "type": "function", "function": ev{"name": c.ToolUse.Name, "arguments": ""}}}}, nil))
			for _, p := range split(string(c.ToolUse.Input), n) {
				out = append(out, base(ev{"tool_calls": []any{ev{"index": tc, "function": ev{"arguments": p}}}}, nil))
			}
			tc++
		}
	}
	finish := map[string]string{"tool_use": "tool_calls", "end_turn": "stop", "max_tokens": "length", "refusal": "content_filter"}[resp.StopReason]
	if finish == "" {
		finish = "stop"
	}
	out = append(out, base(ev{}, finish))
	u := resp.Usage
	if u == nil {
		u = &Usage{InputTokens: int64(len(mustJSON(body))/4 + 1), OutputTokens: int64(resp.outputChars()/4 + 1)}
	}
	if so, ok := body["stream_options"].(map[string]any); ok && so["include_usage"] == true {
		prompt := u.InputTokens + u.CacheRead + u.CacheCreation
		out = append(out, ev{"id": fmt.Sprintf("chatcmpl-%d", step), "object": "chat.completion.chunk", "created": 1, "model": body["model"], "choices": []any{},
			"usage": ev{"prompt_tokens": prompt, "completion_tokens": u.OutputTokens, "total_tokens": prompt + u.OutputTokens, "prompt_tokens_details": ev{"cached_tokens": u.CacheRead}}})
	}
	return out
}

// validateOpenAI: every assistant tool call is answered by tool messages
// right after it, and no tool message answers an unknown call.
func validateOpenAI(body map[string]any) string {
	msgs, _ := body["messages"].([]any)
	if len(msgs) == 0 {
		return "messages: empty"
	}
	var pending []string
	for i, mv := range msgs {
		m, _ := mv.(map[string]any)
		role, _ := m["role"].(string)
		if role == "tool" {
			id := fmt.Sprint(m["tool_call_id"])
			if !contains(pending, id) {
				return fmt.Sprintf("messages.[%d]: tool message for unknown tool_call_id %s", i, id)
			}
			var rest []string
			for _, p := range pending {
				if p != id {
					rest = append(rest, p)
				}
			}
			pending = rest
			continue
		}
		if len(pending) > 0 {
			return fmt.Sprintf("messages.[%d]: an assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. Missing: %s", i, strings.Join(pending, ", "))
		}
		if role == "assistant" {
			calls, _ := m["tool_calls"].([]any)
			for _, c := range calls {
				cm, _ := c.(map[string]any)
				fn, _ := cm["function"].(map[string]any)
				if args, _ := fn["arguments"].(string); !json.Valid([]byte(args)) {
					return fmt.Sprintf("messages.[%d]: tool call arguments are not valid JSON", i)
				}
				pending = append(pending, fmt.Sprint(cm["id"]))
			}
		}
	}
	if len(pending) > 0 {
		return "messages: tool calls without tool messages: " + strings.Join(pending, ", ")
	}
	return ""
}

func openaiView(body map[string]any) view {
	v := view{thinking: "none"}
	v.model, _ = body["model"].(string)
	tools, _ := body["tools"].([]any)
	for _, t := range tools {
		m, _ := t.(map[string]any)
		fn, _ := m["function"].(map[string]any)
		v.tools = append(v.tools, fmt.Sprint(fn["name"]))
	}
	msgs, _ := body["messages"].([]any)
	// the trailing tool messages (and a user message) form the "last user" view
	for i := len(msgs) - 1; i >= 0; i-- {
		m, _ := msgs[i].(map[string]any)
		switch m["role"] {
		case "tool":
			c := resultText(m["content"])
			isErr := strings.HasPrefix(c, "ERROR: ")
			v.lastUser = append([]map[string]any{{"type": "tool_result", "content": c, "is_error": isErr}}, v.lastUser...)
			continue
		case "user":
			v.lastUser = append([]map[string]any{{"type": "text", "text": resultText(m["content"])}}, v.lastUser...)
			if i > 0 {
				if p, _ := msgs[i-1].(map[string]any); p["role"] == "tool" {
					continue
				}
			}
		case "assistant":
			v.lastIsAssistant = len(v.lastUser) == 0
		}
		break
	}
	return v
}
