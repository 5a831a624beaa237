package agent

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strconv"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/ssestream"
	"github.com/openai/openai-go/v3/shared"
)

// OpenAIConfig configures an OpenAI-compatible provider (Ollama, vLLM,
// llama.cpp, hosted gateways). The caller passes OPENAI_API_KEY and
// OPENAI_BASE_URL (e.g. http://localhost:11434/v1).
type OpenAIConfig struct {
	APIKey     string
	BaseURL    string
	HTTPClient *http.Client
}

type openaiProvider struct {
	client openai.Client
}

// NewOpenAI builds the OpenAI-compatible provider (SDK retries off; the loop retries).
func NewOpenAI(cfg OpenAIConfig) Provider {
	key := cfg.APIKey
	if key == "" {
		key = "none" // local servers ignore it, the SDK wants one
	}
	opts := []option.RequestOption{option.WithAPIKey(key), option.WithMaxRetries(0)}
	if cfg.BaseURL != "" {
		opts = append(opts, option.WithBaseURL(cfg.BaseURL))
	}
	if cfg.HTTPClient != nil {
		opts = append(opts, option.WithHTTPClient(cfg.HTTPClient))
	}
	return &openaiProvider{client: openai.NewClient(opts...)}
}

func (p *openaiProvider) Name() string { return "openai" }

func (p *openaiProvider) params(req Request) openai.ChatCompletionNewParams {
	prm := openai.ChatCompletionNewParams{
		Model:               shared.ChatModel(req.Model),
		MaxCompletionTokens: openai.Int(req.MaxTokens),
		StreamOptions:       openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	}
	if req.System != "" {
		prm.Messages = append(prm.Messages, openai.SystemMessage(req.System))
	}
	if !req.NoTools {
		for _, t := range req.Tools {
			prm.Tools = append(prm.Tools, openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
				Name: t.Name, Description: openai.String(t.Description), Parameters: shared.FunctionParameters(t.Schema),
			}))
		}
	}
	for _, m := range req.Messages {
		if m.Role == RoleAssistant {
			a := openai.ChatCompletionAssistantMessageParam{}
			text := ""
			for _, b := range m.Blocks {
				switch b.Type {
				case BlockText:
					text += b.Text
				case BlockToolUse:
					args := string(b.Input)
					if args == "" || !json.Valid(b.Input) {
						args = "{}"
					}
					a.ToolCalls = append(a.ToolCalls, openai.ChatCompletionMessageToolCallUnionParam{OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{
						ID: b.ID, Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: b.Name, Arguments: args},
					}})
				} // thinking and server blocks are not sent to OpenAI-compatible servers
			}
			if text != "" || len(a.ToolCalls) == 0 {
				a.Content.OfString = openai.String(text)
			}
			prm.Messages = append(prm.Messages, openai.ChatCompletionMessageParamUnion{OfAssistant: &a})
			continue
		}
		text := ""
		for _, b := range m.Blocks {
			switch b.Type {
			case BlockToolResult:
				c := b.Content // images are not sent: the text notes a screenshot was taken
				if b.IsError {
					c = "ERROR: " + c
				}
				prm.Messages = append(prm.Messages, openai.ToolMessage(c, b.ToolUseID))
			case BlockText:
				text += b.Text
			}
		}
		if text != "" {
			prm.Messages = append(prm.Messages, openai.UserMessage(text))
		}
	}
	return prm
}

func (p *openaiProvider) Stream(ctx context.Context, req Request, fn func(StreamEvent)) (*Response, error) {
	stream := p.client.Chat.Completions.NewStreaming(ctx, p.params(req))
	defer stream.Close()
	type call struct {
		id, name string
		args     []byte
		block    int
	}
	var (
		text    string
		calls   = map[int64]*call{}
		finish  string
		usage   Usage
		started bool
		blocks  int // next block index: 0 is text when present
	)
	textIdx := -1
	for stream.Next() {
		ch := stream.Current()
		if !started {
			started = true
			fn(StreamEvent{Kind: StreamMessageStart})
		}
		if ch.JSON.Usage.Valid() && (ch.Usage.PromptTokens > 0 || ch.Usage.CompletionTokens > 0) {
			cached := ch.Usage.PromptTokensDetails.CachedTokens
			usage = Usage{InputTokens: ch.Usage.PromptTokens - cached, CacheReadTokens: cached, OutputTokens: ch.Usage.CompletionTokens}
			fn(StreamEvent{Kind: StreamUsage, Usage: usage})
		}
		if len(ch.Choices) == 0 {
			fn(StreamEvent{Kind: StreamPing})
			continue
		}
		c := ch.Choices[0]
		if r, ok := c.Delta.JSON.ExtraFields["reasoning_content"]; ok && r.Raw() != "" && r.Raw() != "null" {
			var s string
			if json.Unmarshal([]byte(r.Raw()), &s) == nil && s != "" {
				fn(StreamEvent{Kind: StreamThinkingDelta, Index: -1, Text: s}) // shown, never sent back
			}
		}
		if c.Delta.Content != "" {
			if textIdx < 0 {
				textIdx = blocks
				blocks++
			}
			text += c.Delta.Content
			fn(StreamEvent{Kind: StreamTextDelta, Index: textIdx, Text: c.Delta.Content})
		}
		for _, tc := range c.Delta.ToolCalls {
			cl := calls[tc.Index]
			if cl == nil {
				cl = &call{id: tc.ID, name: tc.Function.Name, block: blocks}
				blocks++
				calls[tc.Index] = cl
				fn(StreamEvent{Kind: StreamToolUseStart, Index: cl.block, ID: cl.id, Name: cl.name})
			}
			if cl.id == "" {
				cl.id = tc.ID
			}
			if cl.name == "" {
				cl.name = tc.Function.Name
			}
			if tc.Function.Arguments != "" {
				cl.args = append(cl.args, tc.Function.Arguments...)
				fn(StreamEvent{Kind: StreamToolInputDelta, Index: cl.block, Text: tc.Function.Arguments})
			}
		}
		if c.FinishReason != "" {
			finish = c.FinishReason
		}
	}
	if err := stream.Err(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var se *ssestream.StreamError
		if errors.As(err, &se) {
			return nil, &ProviderError{Kind: ErrStreamEvent, Status: http.StatusOK, Message: se.Message}
		}
		var oe *openai.Error
		if errors.As(err, &oe) {
			pe := &ProviderError{Kind: ErrHTTP, Status: oe.StatusCode, Type: oe.Type, Message: oe.Message}
			if oe.StatusCode == http.StatusOK {
				pe.Kind = ErrStreamEvent
			}
			if oe.Response != nil {
				pe.RetryAfter = retryAfter(oe.Response.Header)
			}
			return nil, pe
		}
		return nil, &ProviderError{Kind: ErrTransport, Message: err.Error()}
	}
	if finish == "" {
		return nil, &ProviderError{Kind: ErrTruncated, Message: "stream ended without finish_reason"}
	}
	out := &Response{Usage: usage, Message: Message{Role: RoleAssistant}}
	if text != "" {
		out.Message.Blocks = append(out.Message.Blocks, Block{Type: BlockText, Text: text})
	}
	keys := make([]int64, 0, len(calls))
	for k := range calls {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	for i, k := range keys {
		cl := calls[k]
		id := cl.id
		if id == "" {
			id = "call_" + strconv.Itoa(i)
		}
		out.Message.Blocks = append(out.Message.Blocks, Block{Type: BlockToolUse, ID: id, Name: cl.name, Input: json.RawMessage(cl.args)})
	}
	switch finish {
	case "tool_calls", "function_call":
		out.StopReason = "tool_use"
	case "length":
		out.StopReason = "max_tokens"
	case "content_filter":
		out.StopReason = "refusal"
	default:
		out.StopReason = "end_turn"
		if len(keys) > 0 {
			out.StopReason = "tool_use" // some servers say "stop" after tool calls
		}
	}
	fn(StreamEvent{Kind: StreamStop, StopReason: out.StopReason})
	return out, nil
}
