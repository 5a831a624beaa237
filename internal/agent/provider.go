package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ToolSpec is a tool definition sent to the model.
type ToolSpec struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Schema      map[string]any `json:"input_schema"`
}

// ThinkingConfig is the resolved thinking setting of a call.
type ThinkingConfig struct {
	Kind   ThinkingKind // none, adaptive (Effort), manual (Budget)
	Effort string       // low|medium|high|xhigh|max
	Budget int64
}

// Request is one provider call.
type Request struct {
	Model     string
	System    string
	Tools     []ToolSpec
	Messages  []Message
	MaxTokens int64
	Thinking  ThinkingConfig
	WebSearch bool // offer Anthropic's server-side web_search tool
	NoTools   bool // tool_choice none (summaries, wrap-up)
}

// StreamKind is the kind of a normalized stream event.
type StreamKind string

const (
	StreamMessageStart   StreamKind = "message_start"
	StreamTextDelta      StreamKind = "text_delta"
	StreamThinkingDelta  StreamKind = "thinking_delta"
	StreamSignature      StreamKind = "signature"
	StreamToolUseStart   StreamKind = "tool_use_start"
	StreamToolInputDelta StreamKind = "tool_input_delta"
	StreamServerBlock    StreamKind = "server_block" // server_tool_use / web_search_tool_result
	StreamBlockStop      StreamKind = "block_stop"
	StreamUsage          StreamKind = "usage"
	StreamStop           StreamKind = "stop"
	StreamPing           StreamKind = "ping"
)

// StreamEvent is a provider-neutral streaming event.
type StreamEvent struct {
	Kind       StreamKind
	Index      int
	Text       string // text/thinking/signature/partial JSON
	ID, Name   string
	Usage      Usage
	StopReason string
}

// Response is a completed model call.
type Response struct {
	Message    Message
	StopReason string // end_turn, tool_use, max_tokens, pause_turn, refusal, stop_sequence, ...
	Usage      Usage
}

// Provider streams one model call; fn receives every event (including pings,
// which feed the stall watchdog). It returns the accumulated message, or an
// error (a *ProviderError for API and transport failures).
type Provider interface {
	Name() string
	Stream(ctx context.Context, req Request, fn func(StreamEvent)) (*Response, error)
}

// ErrorKind classifies provider errors for the retry policy.
type ErrorKind string

const (
	ErrHTTP        ErrorKind = "http"         // an HTTP error status
	ErrStreamEvent ErrorKind = "stream_error" // event: error mid-stream
	ErrTruncated   ErrorKind = "truncated"    // stream ended before message_stop
	ErrStall       ErrorKind = "stall"        // watchdog: no event in time
	ErrTransport   ErrorKind = "transport"    // connection failure
)

// ProviderError is an API or transport failure of a model call.
type ProviderError struct {
	Kind       ErrorKind
	Status     int
	Type       string // e.g. overloaded_error, rate_limit_error
	Code       string // error.details.error_code
	Message    string
	RetryAfter time.Duration // from retry-after-ms / retry-after, 0 if absent
}

func (e *ProviderError) Error() string {
	return fmt.Sprintf("model call: %s %d %s: %s", e.Kind, e.Status, e.Type, e.Message)
}

// Retryable says whether the agent loop should retry the call.
func (e *ProviderError) Retryable() bool {
	switch e.Kind {
	case ErrStreamEvent, ErrTruncated, ErrStall, ErrTransport:
		return true
	}
	switch e.Code {
	case "enforced_spend_limit_reached", "contract_spend_limit_reached", "ramp_limit_exceeded":
		return false
	}
	return e.Status == 408 || e.Status == 409 || e.Status == 429 || e.Status >= 500
}

func asProviderError(err error) (*ProviderError, bool) {
	var pe *ProviderError
	ok := errors.As(err, &pe)
	return pe, ok
}

// Clock is the time source of the loop (injected; a manual clock in the tests).
type Clock interface {
	Now() time.Time
	// Sleep waits d or until ctx ends.
	Sleep(ctx context.Context, d time.Duration) error
	// AfterFunc calls f after d unless stopped.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a stoppable, resettable timer.
type Timer interface {
	Stop() bool
	Reset(d time.Duration) bool
}

// RealClock is the wall clock.
type RealClock struct{}

func (RealClock) Now() time.Time { return time.Now() }
func (RealClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
func (RealClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// parseInput decodes a tool input, refusing invalid JSON.
func parseInput(raw json.RawMessage) (map[string]any, error) {
	if len(raw) == 0 {
		return map[string]any{}, nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("tool input is not valid JSON: %v", err)
	}
	return m, nil
}
