package fake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// Request is one recorded request.
type Request struct {
	Step, Attempt int
	Header        http.Header
	Body          map[string]any
	Raw           []byte
	Rejected      string // the 400 message, if validation failed
}

// core is what both fakes share: the transcript cursor, faults, the log.
type core struct {
	mu        sync.Mutex
	t         *Transcript
	step      int
	attempt   int
	requests  []Request
	failures  []string
	APIKey    string
	ChunkSize int
	// OnStall runs (in the handler goroutine) when a stall fault begins;
	// done closes when the client gives up. Tests advance their fake clock here.
	OnStall func(done <-chan struct{})
}

func (c *core) begin(r *http.Request) (raw []byte, body map[string]any, step *Step, stepIdx, attempt int, err error) {
	raw, err = io.ReadAll(r.Body)
	if err != nil {
		return
	}
	if err = json.Unmarshal(raw, &body); err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	stepIdx = c.step
	if c.step < len(c.t.Steps) {
		step = &c.t.Steps[c.step]
	}
	c.attempt++
	attempt = c.attempt
	c.requests = append(c.requests, Request{Step: stepIdx, Attempt: attempt, Header: r.Header.Clone(), Body: body, Raw: raw})
	return
}

func (c *core) reject(msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests[len(c.requests)-1].Rejected = msg
	c.attempt-- // a rejected request is not an attempt of the step
}

func (c *core) fail(format string, a ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failures = append(c.failures, fmt.Sprintf(format, a...))
}

// done advances to the next step after a complete response.
func (c *core) done() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.step++
	c.attempt = 0
}

// Requests returns the recorded requests.
func (c *core) Requests() []Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Request(nil), c.requests...)
}

// Failures lists failed expectations and rejected requests.
func (c *core) Failures() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := append([]string(nil), c.failures...)
	for _, r := range c.requests {
		if r.Rejected != "" {
			out = append(out, fmt.Sprintf("step %d attempt %d rejected: %s", r.Step, r.Attempt, r.Rejected))
		}
	}
	return out
}

// StepsDone is how many steps were answered completely.
func (c *core) StepsDone() int { c.mu.Lock(); defer c.mu.Unlock(); return c.step }

func faultFor(s *Step, attempt int) *Fault {
	for i := range s.Faults {
		if f := &s.Faults[i]; f.Attempt == attempt || f.Attempt == 0 {
			return f
		}
	}
	return nil
}

func (c *core) chunk() int {
	if c.ChunkSize > 0 {
		return c.ChunkSize
	}
	return 23
}

// split cuts s into pieces of n bytes (cutting anywhere, escapes included).
func split(s string, n int) []string {
	var out []string
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	if s != "" {
		out = append(out, s)
	}
	return out
}

// Anthropic is a fake Anthropic Messages API.
type Anthropic struct {
	core
	*httptest.Server
	secret []byte
	issued map[string]bool // hashes of thinking/redacted/server blocks sent
	// Models, when set, is the set of accepted model ids.
	Models map[string]bool
	// PadData adds trailing spaces to data lines, as the real server does.
	PadData bool
	// Interleave sends the deltas of consecutive tool_use blocks
	// interleaved (blocks still start in index order), as the API may.
	Interleave bool
	// UnknownEvents inserts an event of a type clients do not know.
	UnknownEvents bool
}

// NewAnthropic starts a fake Anthropic server on 127.0.0.1 playing t.
func NewAnthropic(t *Transcript) *Anthropic {
	f := &Anthropic{core: core{t: t, APIKey: "test-key"}, secret: []byte("fake-secret"), issued: map[string]bool{}, PadData: true}
	f.Server = httptest.NewServer(http.HandlerFunc(f.handle))
	return f
}

func (f *Anthropic) sign(thinking string) string {
	m := hmac.New(sha256.New, f.secret)
	m.Write([]byte(thinking))
	return "sig_" + hex.EncodeToString(m.Sum(nil))
}

func hash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

func canon(v any) string {
	b, _ := json.Marshal(v)
	var x any
	json.Unmarshal(b, &x)
	b, _ = json.Marshal(x)
	return string(b)
}

func apiError(w http.ResponseWriter, status int, typ, msg string, hdr map[string]string, code string) {
	for k, v := range hdr {
		if v != "" {
			w.Header().Set(k, v)
		}
	}
	w.Header().Set("content-type", "application/json")
	w.Header().Set("request-id", "req_fake")
	w.WriteHeader(status)
	e := map[string]any{"type": typ, "message": msg}
	if code != "" {
		e["details"] = map[string]any{"error_code": code}
	}
	json.NewEncoder(w).Encode(map[string]any{"type": "error", "error": e, "request_id": "req_fake"})
}

func statusType(s int) string {
	switch s {
	case 400:
		return "invalid_request_error"
	case 401:
		return "authentication_error"
	case 404:
		return "not_found_error"
	case 413:
		return "request_too_large"
	case 429:
		return "rate_limit_error"
	case 529:
		return "overloaded_error"
	}
	return "api_error"
}

func (f *Anthropic) handle(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/messages" {
		apiError(w, 404, "not_found_error", "fake: only POST /v1/messages", nil, "")
		return
	}
	key := strings.TrimPrefix(r.Header.Get("authorization"), "Bearer ")
	if key == "" {
		key = r.Header.Get("x-api-key")
	}
	if key != f.APIKey {
		apiError(w, 401, "authentication_error", "invalid x-api-key", nil, "")
		return
	}
	raw, body, step, idx, attempt, err := f.begin(r)
	if err != nil {
		apiError(w, 400, "invalid_request_error", "fake: body is not JSON", nil, "")
		return
	}
	if msg := f.validate(body); msg != "" {
		f.reject(msg)
		apiError(w, 400, "invalid_request_error", msg, nil, "")
		return
	}
	if step == nil {
		f.reject("fake: transcript exhausted")
		apiError(w, 400, "invalid_request_error", "fake: transcript exhausted", nil, "")
		return
	}
	if attempt == 1 && step.Expect != nil {
		for _, e := range checkExpect(anthropicView(body), step.Expect) {
			f.fail("step %d: %s", idx, e)
		}
	}
	fault := faultFor(step, attempt)
	if fault != nil && fault.Type == "http" {
		typ := fault.ErrorType
		if typ == "" {
			typ = statusType(fault.Status)
		}
		apiError(w, fault.Status, typ, "fake fault", map[string]string{"retry-after": fault.RetryAfter, "retry-after-ms": fault.RetryAfterMs}, fault.ErrorCode)
		return
	}
	events := f.events(step.Respond, idx, len(raw))
	if f.Interleave {
		events = interleave(events)
	}
	if f.UnknownEvents && len(events) > 2 {
		events = append(events[:2:2], append([]ev{{"type": "future_event_type", "note": "clients must ignore this"}}, events[2:]...)...)
	}
	w.Header().Set("content-type", "text/event-stream")
	w.Header().Set("request-id", "req_fake")
	w.WriteHeader(200)
	fl := w.(http.Flusher)
	pad := ""
	if f.PadData {
		pad = "   "
	}
	for i, ev := range events {
		if fault != nil && fault.After == i {
			switch fault.Type {
			case "stream_error":
				fmt.Fprintf(w, "event: error\ndata: %s\n\n", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)
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
		if i == len(events)-1 {
			// the step is answered before its last event leaves: the client
			// may send its next request as soon as it reads that event
			f.done()
		}
		b, _ := json.Marshal(ev)
		fmt.Fprintf(w, "event: %s\ndata: %s%s\n\n", ev["type"], b, pad)
		fl.Flush()
	}
}

type ev = map[string]any

// events turns a scripted response into the SSE event sequence.
func (f *Anthropic) events(resp Respond, step, reqSize int) []ev {
	u := resp.Usage
	if u == nil {
		u = &Usage{InputTokens: int64(reqSize/4 + 1), OutputTokens: int64(resp.outputChars()/4 + 1)}
	}
	out := []ev{{"type": "message_start", "message": ev{"id": fmt.Sprintf("msg_%d", step), "type": "message", "role": "assistant",
		"model": "fake", "content": []any{}, "stop_reason": nil, "stop_sequence": nil,
		"usage": ev{"input_tokens": u.InputTokens, "cache_creation_input_tokens": u.CacheCreation, "cache_read_input_tokens": u.CacheRead, "output_tokens": 1}}}}
	n := f.chunk()
	searches := 0
	idx := 0
	for i, c := range resp.Content {
		switch {
		case c.Text != nil:
			out = append(out, ev{"type": "content_block_start", "index": idx, "content_block": ev{"type": "text", "text": ""}})
			for _, p := range split(*c.Text, n) {
				out = append(out, ev{"type": "content_block_delta", "index": idx, "delta": ev{"type": "text_delta", "text": p}})
			}
			out = append(out, ev{"type": "content_block_stop", "index": idx})
		case c.Thinking != nil:
			sig := f.sign(*c.Thinking)
			f.mu.Lock()
			f.issued[hash("thinking", *c.Thinking, sig)] = true
			f.mu.Unlock()
			out = append(out, ev{"type": "content_block_start", "index": idx, "content_block": ev{"type": "thinking", "thinking": "", "signature": ""}})
			for _, p := range split(*c.Thinking, n) {
				out = append(out, ev{"type": "content_block_delta", "index": idx, "delta": ev{"type": "thinking_delta", "thinking": p}})
			}
			out = append(out, ev{"type": "content_block_delta", "index": idx, "delta": ev{"type": "signature_delta", "signature": sig}})
			out = append(out, ev{"type": "content_block_stop", "index": idx})
		case c.RedactedThinking != nil:
			f.mu.Lock()
			f.issued[hash("redacted", *c.RedactedThinking)] = true
			f.mu.Unlock()
			out = append(out, ev{"type": "content_block_start", "index": idx, "content_block": ev{"type": "redacted_thinking", "data": *c.RedactedThinking}})
			out = append(out, ev{"type": "content_block_stop", "index": idx})
		case c.ToolUse != nil:
			id := fmt.Sprintf("toolu_%d_%d", step, i)
			out = append(out, ev{"type": "content_block_start", "index": idx, "content_block": ev{"type": "tool_use", "id": id, "name": c.ToolUse.Name, "input": ev{}}})
			out = append(out, ev{"type": "content_block_delta", "index": idx, "delta": ev{"type": "input_json_delta", "partial_json": ""}})
			for _, p := range split(string(c.ToolUse.Input), n) {
				out = append(out, ev{"type": "content_block_delta", "index": idx, "delta": ev{"type": "input_json_delta", "partial_json": p}})
			}
			out = append(out, ev{"type": "content_block_stop", "index": idx})
		case c.WebSearch != nil:
			searches++
			id := fmt.Sprintf("srvtoolu_%d_%d", step, i)
			in, _ := json.Marshal(ev{"query": c.WebSearch.Query})
			out = append(out, ev{"type": "content_block_start", "index": idx, "content_block": ev{"type": "server_tool_use", "id": id, "name": "web_search", "input": ev{}}})
			out = append(out, ev{"type": "content_block_delta", "index": idx, "delta": ev{"type": "input_json_delta", "partial_json": string(in)}})
			out = append(out, ev{"type": "content_block_stop", "index": idx})
			idx++
			var results []any
			for k, r := range c.WebSearch.Results {
				results = append(results, ev{"type": "web_search_result", "url": r.URL, "title": r.Title, "encrypted_content": fmt.Sprintf("enc_%d_%d", step, k), "page_age": nil})
			}
			block := ev{"type": "web_search_tool_result", "tool_use_id": id, "content": results}
			f.mu.Lock()
			f.issued[hash("server_tool_use", id, canon(ev{"query": c.WebSearch.Query}))] = true
			f.issued[hash("web_search_tool_result", id, canon(results))] = true
			f.mu.Unlock()
			out = append(out, ev{"type": "content_block_start", "index": idx, "content_block": block})
			out = append(out, ev{"type": "content_block_stop", "index": idx})
		}
		idx++
		if i == 0 {
			out = append(out, ev{"type": "ping"})
		}
	}
	usage := ev{"input_tokens": u.InputTokens, "cache_creation_input_tokens": u.CacheCreation, "cache_read_input_tokens": u.CacheRead, "output_tokens": u.OutputTokens}
	if searches > 0 {
		usage["server_tool_use"] = ev{"web_search_requests": searches}
	}
	out = append(out, ev{"type": "message_delta", "delta": ev{"stop_reason": resp.StopReason, "stop_sequence": nil}, "usage": usage})
	out = append(out, ev{"type": "message_stop"})
	return out
}

// validate applies the real API's rules to a request; "" means valid.
func (f *Anthropic) validate(body map[string]any) string {
	if model, _ := body["model"].(string); model == "" || (f.Models != nil && !f.Models[model]) {
		return fmt.Sprintf("model: %v", body["model"])
	}
	maxTok, _ := body["max_tokens"].(float64)
	if th, ok := body["thinking"].(map[string]any); ok && th["type"] == "enabled" {
		b, _ := th["budget_tokens"].(float64)
		if b < 1024 || b >= maxTok {
			return "thinking.enabled.budget_tokens: must be ≥ 1024 and less than max_tokens"
		}
	}
	if n := strings.Count(string(mustJSON(body)), `"cache_control"`); n > 4 {
		return fmt.Sprintf("A maximum of 4 blocks with cache_control may be provided. Found %d.", n)
	}
	msgs, _ := body["messages"].([]any)
	if len(msgs) == 0 {
		return "messages: at least one message is required"
	}
	var prevIDs []string
	for i, mv := range msgs {
		m, _ := mv.(map[string]any)
		role, _ := m["role"].(string)
		blocks := contentBlocks(m["content"])
		if i == 0 && role != "user" {
			return "messages: first message must use the \"user\" role"
		}
		if len(prevIDs) > 0 {
			if role != "user" {
				return fmt.Sprintf("messages.%d: `tool_use` ids were found without `tool_result` blocks immediately after: %s", i, strings.Join(prevIDs, ", "))
			}
			if len(blocks) < len(prevIDs) {
				return fmt.Sprintf("messages.%d: Messages following `tool_use` blocks must begin with a matching number of `tool_result` blocks", i)
			}
			want := map[string]bool{}
			for _, id := range prevIDs {
				want[id] = true
			}
			for k := range prevIDs {
				if blocks[k]["type"] != "tool_result" || !want[fmt.Sprint(blocks[k]["tool_use_id"])] {
					return fmt.Sprintf("messages.%d.content.%d: `tool_use` ids were found without `tool_result` blocks immediately after: %s", i, k, strings.Join(prevIDs, ", "))
				}
				delete(want, fmt.Sprint(blocks[k]["tool_use_id"]))
			}
		}
		var ids []string
		for k, b := range blocks {
			switch b["type"] {
			case "tool_result":
				if role != "user" || len(prevIDs) == 0 || !contains(prevIDs, fmt.Sprint(b["tool_use_id"])) {
					return fmt.Sprintf("messages.%d.content.%d: unexpected `tool_use_id` found in `tool_result` blocks: %v. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.", i, k, b["tool_use_id"])
				}
				if msg := validateResultContent(b["content"]); msg != "" {
					return fmt.Sprintf("messages.%d.content.%d.content.%s", i, k, msg)
				}
			case "tool_use":
				ids = append(ids, fmt.Sprint(b["id"]))
			case "thinking":
				th, _ := b["thinking"].(string)
				sig, _ := b["signature"].(string)
				f.mu.Lock()
				ok := f.issued[hash("thinking", th, sig)] && sig == f.sign(th)
				f.mu.Unlock()
				if !ok {
					return fmt.Sprintf("messages.%d.content.%d: Invalid `signature` in `thinking` block", i, k)
				}
			case "redacted_thinking":
				d, _ := b["data"].(string)
				f.mu.Lock()
				ok := f.issued[hash("redacted", d)]
				f.mu.Unlock()
				if !ok {
					return fmt.Sprintf("messages.%d.content.%d: Invalid `data` in `redacted_thinking` block", i, k)
				}
			case "server_tool_use":
				f.mu.Lock()
				ok := f.issued[hash("server_tool_use", fmt.Sprint(b["id"]), canon(b["input"]))]
				f.mu.Unlock()
				if !ok {
					return fmt.Sprintf("messages.%d.content.%d: `server_tool_use` block was modified", i, k)
				}
			case "web_search_tool_result":
				f.mu.Lock()
				ok := f.issued[hash("web_search_tool_result", fmt.Sprint(b["tool_use_id"]), canon(b["content"]))]
				f.mu.Unlock()
				if !ok {
					return fmt.Sprintf("messages.%d.content.%d: `web_search_tool_result` block was modified", i, k)
				}
			}
		}
		if role == "assistant" {
			prevIDs = ids
		} else {
			prevIDs = nil
		}
	}
	if len(prevIDs) > 0 {
		return fmt.Sprintf("messages: `tool_use` ids were found without `tool_result` blocks immediately after: %s", strings.Join(prevIDs, ", "))
	}
	return ""
}

// validateResultContent checks the content of a tool_result: a string, or
// a list of text and image blocks (images base64 with a known media type).
func validateResultContent(c any) string {
	list, ok := c.([]any)
	if !ok {
		if _, isStr := c.(string); isStr || c == nil {
			return ""
		}
		return "content: must be a string or a list of blocks"
	}
	for j, v := range list {
		b, _ := v.(map[string]any)
		switch b["type"] {
		case "text":
			if _, ok := b["text"].(string); !ok {
				return fmt.Sprintf("%d.text: Field required", j)
			}
		case "image":
			src, _ := b["source"].(map[string]any)
			if src == nil || src["type"] != "base64" {
				return fmt.Sprintf("%d.source: only base64 images are accepted by the fake", j)
			}
			switch src["media_type"] {
			case "image/png", "image/jpeg", "image/gif", "image/webp":
			default:
				return fmt.Sprintf("%d.source.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'", j)
			}
			data, _ := src["data"].(string)
			if _, err := base64.StdEncoding.DecodeString(data); err != nil || data == "" {
				return fmt.Sprintf("%d.source.data: invalid base64 data", j)
			}
		default:
			return fmt.Sprintf("%d.type: Input tag '%v' found using 'type' does not match any of the expected tags: 'text', 'image', 'search_result', 'document'", j, b["type"])
		}
	}
	return ""
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

func contentBlocks(c any) []map[string]any {
	switch v := c.(type) {
	case string:
		return []map[string]any{{"type": "text", "text": v}}
	case []any:
		var out []map[string]any
		for _, b := range v {
			if m, ok := b.(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out
	}
	return nil
}

// view is the provider-neutral shape of a request, for expectations.
type view struct {
	model, thinking, effort string
	tools                   []string
	lastUser                []map[string]any // blocks: type, text, content, is_error
	lastIsAssistant         bool
}

func anthropicView(body map[string]any) view {
	v := view{thinking: "none"}
	v.model, _ = body["model"].(string)
	if th, ok := body["thinking"].(map[string]any); ok {
		v.thinking, _ = th["type"].(string)
	}
	if oc, ok := body["output_config"].(map[string]any); ok {
		v.effort, _ = oc["effort"].(string)
	}
	tools, _ := body["tools"].([]any)
	for _, t := range tools {
		if m, ok := t.(map[string]any); ok {
			v.tools = append(v.tools, fmt.Sprint(m["name"]))
		}
	}
	msgs, _ := body["messages"].([]any)
	if len(msgs) > 0 {
		m, _ := msgs[len(msgs)-1].(map[string]any)
		v.lastIsAssistant = m["role"] == "assistant"
		if !v.lastIsAssistant {
			for _, b := range contentBlocks(m["content"]) {
				if b["type"] == "tool_result" {
					b = map[string]any{"type": "tool_result", "content": resultText(b["content"]), "is_error": b["is_error"] == true}
				}
				v.lastUser = append(v.lastUser, b)
			}
		}
	}
	return v
}

func resultText(c any) string {
	if s, ok := c.(string); ok {
		return s
	}
	var sb strings.Builder
	for _, b := range contentBlocks(c) {
		if t, ok := b["text"].(string); ok {
			sb.WriteString(t)
		}
	}
	return sb.String()
}

func checkExpect(v view, e *Expect) []string {
	var errs []string
	var results []map[string]any
	text := ""
	for _, b := range v.lastUser {
		if b["type"] == "tool_result" {
			results = append(results, b)
		} else if t, ok := b["text"].(string); ok {
			text += t
		}
	}
	if e.ToolResults != nil && len(results) != *e.ToolResults {
		errs = append(errs, fmt.Sprintf("want %d tool results, got %d", *e.ToolResults, len(results)))
	}
	if e.LastResultContains != "" && (len(results) == 0 || !strings.Contains(results[len(results)-1]["content"].(string), e.LastResultContains)) {
		errs = append(errs, fmt.Sprintf("last tool result lacks %q: %v", e.LastResultContains, results))
	}
	if e.AnyResultContains != "" {
		found := false
		for _, r := range results {
			found = found || strings.Contains(r["content"].(string), e.AnyResultContains)
		}
		if !found {
			errs = append(errs, fmt.Sprintf("no tool result contains %q: %v", e.AnyResultContains, results))
		}
	}
	if e.ResultIsError != nil && (len(results) == 0 || results[0]["is_error"] != *e.ResultIsError) {
		errs = append(errs, fmt.Sprintf("first result is_error want %v: %v", *e.ResultIsError, results))
	}
	for _, want := range e.ToolsInclude {
		if !contains(v.tools, want) {
			errs = append(errs, fmt.Sprintf("tool %q not offered (have %v)", want, v.tools))
		}
	}
	if e.Thinking != "" && v.thinking != e.Thinking {
		errs = append(errs, fmt.Sprintf("thinking %q, want %q", v.thinking, e.Thinking))
	}
	if e.Effort != "" && v.effort != e.Effort {
		errs = append(errs, fmt.Sprintf("effort %q, want %q", v.effort, e.Effort))
	}
	if e.Model != "" && v.model != e.Model {
		errs = append(errs, fmt.Sprintf("model %q, want %q", v.model, e.Model))
	}
	if e.LastUserText != "" && !strings.Contains(text, e.LastUserText) {
		errs = append(errs, fmt.Sprintf("last user text %q lacks %q", text, e.LastUserText))
	}
	if e.LastMessageAssistant && !v.lastIsAssistant {
		errs = append(errs, "last message should be the resent assistant turn")
	}
	return errs
}

// interleave moves each tool_use block's start to right after the previous
// tool_use block's first delta, so the deltas of two open blocks mix.
func interleave(evs []ev) []ev {
	out := append([]ev(nil), evs...)
	isStart := func(e ev, typ string) bool {
		if e["type"] != "content_block_start" {
			return false
		}
		cb, _ := e["content_block"].(ev)
		return cb["type"] == typ
	}
	for i := 0; i < len(out); i++ {
		if !isStart(out[i], "tool_use") {
			continue
		}
		// find the next block start after this block's stop
		stop := -1
		for j := i + 1; j < len(out); j++ {
			if out[j]["type"] == "content_block_stop" && out[j]["index"] == out[i]["index"] {
				stop = j
				break
			}
		}
		nx := stop + 1
		for nx < len(out) && out[nx]["type"] == "ping" {
			nx++
		}
		if stop < 0 || nx >= len(out) || !isStart(out[nx], "tool_use") || stop-i < 3 {
			continue
		}
		next := out[nx]
		// the next block's events up to its own stop
		end := nx
		for end < len(out) && !(out[end]["type"] == "content_block_stop" && out[end]["index"] == next["index"]) {
			end++
		}
		moved := append([]ev(nil), out[nx:end]...)
		pings := append([]ev(nil), out[stop+1:nx]...)
		rest := append([]ev(nil), out[end:]...)
		head := append([]ev(nil), out[:i+2]...) // start + first delta of block i
		mid := append([]ev(nil), out[i+2:stop+1]...)
		var mixed []ev
		mixed = append(mixed, moved[0]) // the next block starts while i is open
		k := 1
		for _, e := range mid {
			mixed = append(mixed, e)
			if k < len(moved) {
				mixed = append(mixed, moved[k])
				k++
			}
		}
		mixed = append(mixed, moved[k:]...)
		mixed = append(mixed, pings...)
		out = append(append(head, mixed...), rest...)
		i = stop + 1
	}
	return out
}
