// Package fake holds offline stand-ins for model providers: an Anthropic
// Messages server and an OpenAI-compatible chat completions server, both
// httptest servers speaking the real streaming wire formats, driven by
// scripted transcripts, validating requests the way the real APIs do, and
// injecting faults (HTTP errors with retry-after, error events mid-stream,
// truncated streams, stalls).
package fake

import (
	"encoding/json"
	"fmt"
	"os"
)

// Transcript is a scripted conversation: one step per model call.
type Transcript struct {
	Name  string `json:"name"`
	Steps []Step `json:"steps"`
}

// Step is the response to one model call, with faults for its attempts.
type Step struct {
	Faults  []Fault `json:"faults,omitempty"`
	Expect  *Expect `json:"expect,omitempty"`
	Respond Respond `json:"respond"`
}

// Fault breaks one attempt of a step (Attempt 0: every attempt).
type Fault struct {
	Attempt int    `json:"attempt"`
	Type    string `json:"type"` // http | stream_error | truncate | stall
	// http
	Status       int    `json:"status,omitempty"`
	ErrorType    string `json:"error_type,omitempty"` // error.type; default from status
	RetryAfter   string `json:"retry_after,omitempty"`
	RetryAfterMs string `json:"retry_after_ms,omitempty"`
	ErrorCode    string `json:"error_code,omitempty"`
	// stream faults: after this many events
	After int `json:"after,omitempty"`
}

// Expect holds assertions on a step's request; failures are recorded.
type Expect struct {
	ToolResults          *int     `json:"tool_results,omitempty"` // tool_results in the last user message
	LastResultContains   string   `json:"last_result_contains,omitempty"`
	AnyResultContains    string   `json:"any_result_contains,omitempty"`
	ResultIsError        *bool    `json:"result_is_error,omitempty"` // of the first result
	ToolsInclude         []string `json:"tools_include,omitempty"`
	Thinking             string   `json:"thinking,omitempty"` // adaptive | enabled | none
	Effort               string   `json:"effort,omitempty"`
	Model                string   `json:"model,omitempty"`
	LastUserText         string   `json:"last_user_text_contains,omitempty"`
	LastMessageAssistant bool     `json:"last_message_assistant,omitempty"` // pause_turn resend
}

// Respond is the scripted assistant message.
type Respond struct {
	Usage      *Usage    `json:"usage,omitempty"` // default: computed from sizes
	Content    []Content `json:"content"`
	StopReason string    `json:"stop_reason"`
}

// Usage as the Anthropic API reports it.
type Usage struct {
	InputTokens   int64 `json:"input_tokens"`
	CacheCreation int64 `json:"cache_creation_input_tokens"`
	CacheRead     int64 `json:"cache_read_input_tokens"`
	OutputTokens  int64 `json:"output_tokens"`
}

// Content is one block: exactly one field is set.
type Content struct {
	Text             *string    `json:"text,omitempty"`
	Thinking         *string    `json:"thinking,omitempty"`
	RedactedThinking *string    `json:"redacted_thinking,omitempty"`
	ToolUse          *ToolUse   `json:"tool_use,omitempty"`
	WebSearch        *WebSearch `json:"web_search,omitempty"`
}

// ToolUse is a client tool call.
type ToolUse struct {
	Name  string          `json:"name"`
	Input json.RawMessage `json:"input"`
}

// WebSearch becomes a server_tool_use block and its web_search_tool_result.
type WebSearch struct {
	Query   string `json:"query"`
	Results []struct {
		URL   string `json:"url"`
		Title string `json:"title"`
	} `json:"results"`
}

// Load reads a transcript file.
func Load(path string) (*Transcript, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var t Transcript
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &t, nil
}

// Text, Think and Tool build content in Go-written transcripts.
func Text(s string) Content  { return Content{Text: &s} }
func Think(s string) Content { return Content{Thinking: &s} }
func Tool(name string, input any) Content {
	b, _ := json.Marshal(input)
	return Content{ToolUse: &ToolUse{Name: name, Input: b}}
}

// outputChars approximates what the model wrote, for computed usage.
func (r Respond) outputChars() int {
	n := 0
	for _, c := range r.Content {
		switch {
		case c.Text != nil:
			n += len(*c.Text)
		case c.Thinking != nil:
			n += len(*c.Thinking)
		case c.ToolUse != nil:
			n += len(c.ToolUse.Name) + len(c.ToolUse.Input)
		case c.WebSearch != nil:
			n += len(c.WebSearch.Query)
		}
	}
	return n
}
