package agent

import (
	"encoding/json"
	"strings"
)

// Role of a conversation message.
type Role string

const (
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
)

// BlockType names a content block kind of the normalized conversation.
type BlockType string

const (
	BlockText             BlockType = "text"
	BlockThinking         BlockType = "thinking"
	BlockRedactedThinking BlockType = "redacted_thinking"
	BlockToolUse          BlockType = "tool_use"
	BlockToolResult       BlockType = "tool_result"
	// BlockRaw is a provider block kept verbatim (server_tool_use,
	// web_search_tool_result, text with citations): sent back byte-exact.
	BlockRaw BlockType = "raw"
)

// Block is one content block of a message.
type Block struct {
	Type      BlockType       `json:"type"`
	Text      string          `json:"text,omitempty"`
	Thinking  string          `json:"thinking,omitempty"`
	Signature string          `json:"signature,omitempty"`
	Data      string          `json:"data,omitempty"` // redacted thinking
	ID        string          `json:"id,omitempty"`   // tool_use id
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
	ToolUseID string          `json:"tool_use_id,omitempty"`
	Content   string          `json:"content,omitempty"` // tool_result text
	IsError   bool            `json:"is_error,omitempty"`
	Trimmed   bool            `json:"trimmed,omitempty"` // tool_result replaced by a placeholder
	Images    []Image         `json:"images,omitempty"`  // tool_result images (Anthropic only)
	RawType   string          `json:"raw_type,omitempty"`
	Raw       json.RawMessage `json:"raw,omitempty"`
}

// Image is a base64-encoded image attached to a tool result.
type Image struct {
	MediaType string `json:"media_type"` // image/png
	Data      string `json:"data"`       // base64 (standard encoding)
}

// Message is one conversation message.
type Message struct {
	Role   Role    `json:"role"`
	Blocks []Block `json:"blocks"`
}

// Usage of one model call, in tokens.
type Usage struct {
	InputTokens        int64 `json:"input_tokens"`
	OutputTokens       int64 `json:"output_tokens"`
	CacheWriteTokens   int64 `json:"cache_write_tokens"`
	CacheWrite1hTokens int64 `json:"cache_write_1h_tokens,omitempty"`
	CacheReadTokens    int64 `json:"cache_read_tokens"`
	ThinkingTokens     int64 `json:"thinking_tokens,omitempty"`
	WebSearches        int64 `json:"web_searches,omitempty"`
}

// PromptTokens is the size of the prompt the call consumed.
func (u Usage) PromptTokens() int64 {
	return u.InputTokens + u.CacheWriteTokens + u.CacheWrite1hTokens + u.CacheReadTokens
}

// Add sums usages.
func (u Usage) Add(o Usage) Usage {
	return Usage{u.InputTokens + o.InputTokens, u.OutputTokens + o.OutputTokens, u.CacheWriteTokens + o.CacheWriteTokens,
		u.CacheWrite1hTokens + o.CacheWrite1hTokens, u.CacheReadTokens + o.CacheReadTokens, u.ThinkingTokens + o.ThinkingTokens, u.WebSearches + o.WebSearches}
}

// Price in USD per million tokens, and per web search.
type Price struct {
	Input, CacheWrite5m, CacheWrite1h, CacheRead, Output float64
	WebSearch                                            float64 // per search
}

// Cost of a usage at this price.
func (p Price) Cost(u Usage) float64 {
	return (float64(u.InputTokens)*p.Input+float64(u.CacheWriteTokens)*p.CacheWrite5m+float64(u.CacheWrite1hTokens)*p.CacheWrite1h+
		float64(u.CacheReadTokens)*p.CacheRead+float64(u.OutputTokens)*p.Output)/1e6 + float64(u.WebSearches)*p.WebSearch
}

// ThinkingKind says how a model takes extended thinking.
type ThinkingKind string

const (
	ThinkingNone     ThinkingKind = "none"
	ThinkingAdaptive ThinkingKind = "adaptive" // {type: adaptive} + output_config.effort
	ThinkingManual   ThinkingKind = "manual"   // {type: enabled, budget_tokens}
)

// ModelInfo is one row of the model table.
type ModelInfo struct {
	ID            string       `json:"id"`
	Provider      string       `json:"provider"` // "anthropic" | "openai"
	ContextWindow int64        `json:"context_window"`
	MaxOutput     int64        `json:"max_output"`
	Thinking      ThinkingKind `json:"thinking"`
	WebSearch     bool         `json:"web_search"`
	Price         Price        `json:"price"`
	PriceChecked  string       `json:"price_checked"` // date the price was checked
	PriceSource   string       `json:"price_source"`
}

// ModelTable maps model IDs to their rows.
type ModelTable map[string]ModelInfo

// Lookup finds a model by exact ID, then by the longest ID that prefixes it
// (dated snapshots such as claude-haiku-4-5-20251001).
func (t ModelTable) Lookup(id string) (ModelInfo, bool) {
	if m, ok := t[id]; ok {
		return m, true
	}
	best := ""
	for k := range t {
		if strings.HasPrefix(id, k) && len(k) > len(best) {
			best = k
		}
	}
	if best == "" {
		return ModelInfo{}, false
	}
	m := t[best]
	m.ID = id
	return m, true
}

const priceDate = "2026-11-27" // checked against docs/research agent-design.md §4.1, §1.9

// DefaultModels is the Anthropic model table (prices USD/MTok, from the
// research notes of the date in PriceChecked). It is data: callers may replace
// or extend it (self-hosted models are priced 0 by default).
func DefaultModels() ModelTable {
	ws := 0.01
	row := func(id string, ctx, out int64, th ThinkingKind, in, w5, w1, rd, o float64, src string) ModelInfo {
		return ModelInfo{ID: id, Provider: "anthropic", ContextWindow: ctx, MaxOutput: out, Thinking: th, WebSearch: true,
			Price: Price{in, w5, w1, rd, o, ws}, PriceChecked: priceDate, PriceSource: src}
	}
	rows := []ModelInfo{
		row("claude-fable-5-2", 1_000_000, 128_000, ThinkingAdaptive, 8, 10, 16, 0.20, 40, "3P release notes"),
		row("claude-fable-5-1", 1_000_000, 128_000, ThinkingAdaptive, 10, 12.5, 20, 0.25, 50, "docs pricing"),
		row("claude-fable-5", 1_000_000, 128_000, ThinkingAdaptive, 10, 12.5, 20, 1.00, 50, "docs pricing"),
		row("claude-opus-5-5", 1_000_000, 128_000, ThinkingAdaptive, 4, 5, 8, 0.20, 20, "docs model page"),
		row("claude-opus-5", 1_000_000, 128_000, ThinkingAdaptive, 5, 6.25, 10, 0.50, 25, "docs"),
		row("claude-opus-4-8", 1_000_000, 128_000, ThinkingAdaptive, 5, 6.25, 10, 0.50, 25, "docs pricing"),
		row("claude-opus-4-7", 1_000_000, 128_000, ThinkingAdaptive, 5, 6.25, 10, 0.50, 25, "docs pricing"),
		row("claude-opus-4-6", 1_000_000, 128_000, ThinkingAdaptive, 5, 6.25, 10, 0.50, 25, "docs pricing"),
		row("claude-opus-4-5", 200_000, 64_000, ThinkingManual, 5, 6.25, 10, 0.50, 25, "docs pricing"),
		row("claude-sonnet-5-5", 1_000_000, 128_000, ThinkingAdaptive, 2, 2.5, 4, 0.10, 10, "docs; cache read cut 2026-10-07 (3P)"),
		row("claude-sonnet-5", 1_000_000, 128_000, ThinkingAdaptive, 2, 2.5, 4, 0.20, 10, "docs"),
		row("claude-sonnet-4-6", 1_000_000, 64_000, ThinkingAdaptive, 3, 3.75, 6, 0.30, 15, "3P"),
		row("claude-sonnet-4-5", 200_000, 64_000, ThinkingManual, 3, 3.75, 6, 0.30, 15, "docs"),
		// Haiku 5.5 has two bands by prompt length (≤100K: 0.10/0.50); the
		// table keeps the upper band so caps are never underestimated.
		row("claude-haiku-5-5", 1_000_000, 128_000, ThinkingAdaptive, 0.50, 0.625, 1.00, 0.05, 2.50, "3P, upper band"),
		row("claude-haiku-4-5", 200_000, 64_000, ThinkingManual, 1, 1.25, 2, 0.10, 5, "docs"),
	}
	t := ModelTable{}
	for _, r := range rows {
		t[r.ID] = r
	}
	return t
}
