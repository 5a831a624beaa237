package agent

import (
	"encoding/json"
	"time"
)

// EventType names a turn event.
type EventType string

const (
	EvTurnStarted    EventType = "turn_started"
	EvTextDelta      EventType = "text_delta"
	EvThinkingDelta  EventType = "thinking_delta"
	EvToolStarted    EventType = "tool_call_started"     // tool_use block opened (id, name)
	EvToolInputDelta EventType = "tool_call_input_delta" // partial JSON
	EvToolCall       EventType = "tool_call"             // complete input, about to run
	EvToolResult     EventType = "tool_call_finished"    // result (diff for edits)
	EvServerBlock    EventType = "server_block"          // web search use/result, passed through
	EvUsage          EventType = "usage"                 // per model call: tokens and cost
	EvCaps           EventType = "caps"                  // caps status after each call
	EvRetry          EventType = "retrying"
	EvTodo           EventType = "todo_updated"
	EvCompacted      EventType = "context_compacted"
	EvWaitingForUser EventType = "waiting_for_user"
	EvSecretRequest  EventType = "secret_request" // the agent asks the user for a secret's value (name, reason)
	EvCheckpoint     EventType = "checkpoint_created"
	EvTurnFinished   EventType = "turn_finished" // final metrics and stop reason
)

// Event is one thing that happened in a turn.
type Event struct {
	Type     EventType       `json:"type"`
	Seq      int             `json:"seq"`
	Step     int             `json:"step"`
	Time     time.Time       `json:"time"`
	Text     string          `json:"text,omitempty"`
	Index    int             `json:"index,omitempty"`
	ToolID   string          `json:"tool_id,omitempty"`
	ToolName string          `json:"tool_name,omitempty"`
	Input    json.RawMessage `json:"input,omitempty"`
	Result   string          `json:"result,omitempty"`
	IsError  bool            `json:"is_error,omitempty"`
	Path     string          `json:"path,omitempty"`
	Diff     string          `json:"diff,omitempty"`
	Added    int             `json:"lines_added,omitempty"`
	Removed  int             `json:"lines_removed,omitempty"`
	Usage    *Usage          `json:"usage,omitempty"`
	CostUSD  float64         `json:"cost_usd,omitempty"`
	Caps     *CapsStatus     `json:"caps,omitempty"`
	Metrics  *Metrics        `json:"metrics,omitempty"`
	Stop     StopReason      `json:"stop_reason,omitempty"`
	Attempt  int             `json:"attempt,omitempty"`
	Reason   string          `json:"reason,omitempty"`
	Name     string          `json:"name,omitempty"` // secret_request: the secret's name
	Todos    []Todo          `json:"todos,omitempty"`
}

// CapsStatus is how much of each per-turn cap is used.
type CapsStatus struct {
	Steps      int           `json:"steps"`
	MaxSteps   int           `json:"max_steps"`
	Elapsed    time.Duration `json:"elapsed"`
	MaxWall    time.Duration `json:"max_wall"`
	Tokens     int64         `json:"tokens"`
	MaxTokens  int64         `json:"max_tokens"`
	CostUSD    float64       `json:"cost_usd"`
	MaxCostUSD float64       `json:"max_cost_usd"`
}

// Metrics summarise a turn.
type Metrics struct {
	Steps         int           `json:"steps"` // model calls that completed
	Attempts      int           `json:"attempts"`
	Retries       int           `json:"retries"`
	ToolCalls     int           `json:"tool_calls"`
	Usage         Usage         `json:"usage"`
	CostUSD       float64       `json:"cost_usd"`
	FilesModified []string      `json:"files_modified"`
	LinesAdded    int           `json:"lines_added"`
	LinesRemoved  int           `json:"lines_removed"`
	Wall          time.Duration `json:"wall"`
	ModelTime     time.Duration `json:"model_time"` // measured on the real clock
	ToolTime      time.Duration `json:"tool_time"`
	Overhead      time.Duration `json:"overhead"` // real wall − model − tools
	Compactions   int           `json:"compactions"`
}

// Todo is one item of the agent's plan.
type Todo struct {
	Content string `json:"content"`
	Status  string `json:"status"` // pending | in_progress | completed
}
