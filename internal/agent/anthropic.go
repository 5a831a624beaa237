package agent

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
)

// AnthropicConfig configures the Anthropic provider. The caller passes the
// values of ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL; the package never reads
// the environment.
type AnthropicConfig struct {
	APIKey     string
	BaseURL    string // empty: the SDK default (https://api.anthropic.com)
	HTTPClient *http.Client
	// XAPIKey sends the key as x-api-key instead of Authorization: Bearer
	// (for Anthropic-compatible proxies that accept only x-api-key).
	XAPIKey bool
}

type anthropicProvider struct {
	client anthropic.Client
}

// NewAnthropic builds the Anthropic provider. SDK retries are off: the agent
// loop retries every failure itself, on its injected clock.
func NewAnthropic(cfg AnthropicConfig) Provider {
	opts := []option.RequestOption{
		option.WithoutEnvironmentDefaults(),
		option.WithoutOpenTelemetry(),
		option.WithMaxRetries(0),
	}
	if cfg.XAPIKey {
		opts = append(opts, option.WithHeader("x-api-key", cfg.APIKey), option.WithHeaderDel("authorization"))
	} else {
		opts = append(opts, option.WithAPIKey(cfg.APIKey))
	}
	if cfg.BaseURL != "" {
		opts = append(opts, option.WithBaseURL(cfg.BaseURL))
	}
	if cfg.HTTPClient != nil {
		opts = append(opts, option.WithHTTPClient(cfg.HTTPClient))
	}
	return &anthropicProvider{client: anthropic.NewClient(opts...)}
}

func (p *anthropicProvider) Name() string { return "anthropic" }

func (p *anthropicProvider) params(req Request) (anthropic.MessageNewParams, error) {
	prm := anthropic.MessageNewParams{
		Model:        anthropic.Model(req.Model),
		MaxTokens:    req.MaxTokens,
		CacheControl: anthropic.NewCacheControlEphemeralParam(), // moving conversation breakpoint
	}
	if req.System != "" {
		prm.System = []anthropic.TextBlockParam{{Text: req.System, CacheControl: anthropic.NewCacheControlEphemeralParam()}}
	}
	for i, t := range req.Tools {
		tp := &anthropic.ToolParam{
			Name:        t.Name,
			Description: anthropic.String(t.Description),
			InputSchema: anthropic.ToolInputSchemaParam{Properties: t.Schema["properties"]},
		}
		if r, ok := t.Schema["required"].([]string); ok {
			tp.InputSchema.Required = r
		}
		if i == len(req.Tools)-1 && !req.WebSearch {
			tp.CacheControl = anthropic.NewCacheControlEphemeralParam()
		}
		prm.Tools = append(prm.Tools, anthropic.ToolUnionParam{OfTool: tp})
	}
	if req.WebSearch {
		ws := &anthropic.WebSearchTool20250305Param{MaxUses: anthropic.Int(5), CacheControl: anthropic.NewCacheControlEphemeralParam()}
		prm.Tools = append(prm.Tools, anthropic.ToolUnionParam{OfWebSearchTool20250305: ws})
	}
	if req.NoTools && len(prm.Tools) > 0 {
		prm.ToolChoice = anthropic.ToolChoiceUnionParam{OfNone: &anthropic.ToolChoiceNoneParam{}}
	}
	switch req.Thinking.Kind {
	case ThinkingAdaptive:
		prm.Thinking = anthropic.ThinkingConfigParamUnion{OfAdaptive: &anthropic.ThinkingConfigAdaptiveParam{Display: "summarized"}}
		if req.Thinking.Effort != "" {
			prm.OutputConfig.Effort = anthropic.OutputConfigEffort(req.Thinking.Effort)
		}
	case ThinkingManual:
		prm.Thinking = anthropic.ThinkingConfigParamOfEnabled(req.Thinking.Budget)
	}
	for _, m := range req.Messages {
		var blocks []anthropic.ContentBlockParamUnion
		for _, b := range m.Blocks {
			switch b.Type {
			case BlockText:
				blocks = append(blocks, anthropic.NewTextBlock(b.Text))
			case BlockThinking:
				blocks = append(blocks, anthropic.NewThinkingBlock(b.Signature, b.Thinking))
			case BlockRedactedThinking:
				blocks = append(blocks, anthropic.NewRedactedThinkingBlock(b.Data))
			case BlockToolUse:
				in := b.Input
				if len(in) == 0 || !json.Valid(in) {
					in = json.RawMessage("{}")
				}
				blocks = append(blocks, anthropic.NewToolUseBlock(b.ID, in, b.Name))
			case BlockToolResult:
				tb := anthropic.NewToolResultBlock(b.ToolUseID, b.Content, b.IsError)
				for _, im := range b.Images {
					tb.OfToolResult.Content = append(tb.OfToolResult.Content, anthropic.ToolResultBlockParamContentUnion{
						OfImage: &anthropic.ImageBlockParam{Source: anthropic.ImageBlockParamSourceUnion{
							OfBase64: &anthropic.Base64ImageSourceParam{Data: im.Data, MediaType: anthropic.Base64ImageSourceMediaType(im.MediaType)},
						}},
					})
				}
				blocks = append(blocks, tb)
			case BlockRaw:
				var cb anthropic.ContentBlockParamUnion
				if err := json.Unmarshal(b.Raw, &cb); err != nil {
					return prm, err
				}
				blocks = append(blocks, cb)
			}
		}
		if m.Role == RoleAssistant {
			prm.Messages = append(prm.Messages, anthropic.NewAssistantMessage(blocks...))
		} else {
			prm.Messages = append(prm.Messages, anthropic.NewUserMessage(blocks...))
		}
	}
	return prm, nil
}

func (p *anthropicProvider) Stream(ctx context.Context, req Request, fn func(StreamEvent)) (*Response, error) {
	prm, err := p.params(req)
	if err != nil {
		return nil, err
	}
	stream := p.client.Messages.NewStreaming(ctx, prm)
	defer stream.Close()
	var msg anthropic.Message
	stopped := false
	for stream.Next() {
		ev := stream.Current()
		if err := msg.Accumulate(ev); err != nil {
			return nil, &ProviderError{Kind: ErrTruncated, Message: err.Error()}
		}
		idx := int(ev.Index)
		switch ev.Type {
		case "message_start":
			fn(StreamEvent{Kind: StreamMessageStart, Usage: usageOf(msg.Usage)})
		case "content_block_start":
			cb := ev.ContentBlock
			switch cb.Type {
			case "tool_use":
				fn(StreamEvent{Kind: StreamToolUseStart, Index: idx, ID: cb.ID, Name: cb.Name})
			case "text", "thinking", "redacted_thinking":
				fn(StreamEvent{Kind: StreamPing, Index: idx})
			default:
				fn(StreamEvent{Kind: StreamServerBlock, Index: idx, ID: cb.ID, Name: cb.Name, Text: cb.Type})
			}
		case "content_block_delta":
			d := ev.Delta
			switch d.Type {
			case "text_delta":
				fn(StreamEvent{Kind: StreamTextDelta, Index: idx, Text: d.Text})
			case "thinking_delta":
				fn(StreamEvent{Kind: StreamThinkingDelta, Index: idx, Text: d.Thinking})
			case "signature_delta":
				fn(StreamEvent{Kind: StreamSignature, Index: idx, Text: d.Signature})
			case "input_json_delta":
				fn(StreamEvent{Kind: StreamToolInputDelta, Index: idx, Text: d.PartialJSON})
			default:
				fn(StreamEvent{Kind: StreamPing, Index: idx})
			}
		case "content_block_stop":
			fn(StreamEvent{Kind: StreamBlockStop, Index: idx})
		case "message_delta":
			fn(StreamEvent{Kind: StreamUsage, Usage: usageOf(msg.Usage), StopReason: string(ev.Delta.StopReason)})
		case "message_stop":
			stopped = true
			fn(StreamEvent{Kind: StreamStop, StopReason: string(msg.StopReason)})
		default: // ping and event types this code does not know
			fn(StreamEvent{Kind: StreamPing})
		}
	}
	if err := stream.Err(); err != nil {
		return nil, anthropicError(ctx, err)
	}
	if !stopped || msg.StopReason == "" {
		return nil, &ProviderError{Kind: ErrTruncated, Message: "stream ended before message_stop"}
	}
	out := &Response{StopReason: string(msg.StopReason), Usage: usageOf(msg.Usage), Message: Message{Role: RoleAssistant}}
	for _, c := range msg.Content {
		switch c.Type {
		case "text":
			if len(c.Citations) == 0 {
				out.Message.Blocks = append(out.Message.Blocks, Block{Type: BlockText, Text: c.Text})
				continue
			}
		case "thinking":
			out.Message.Blocks = append(out.Message.Blocks, Block{Type: BlockThinking, Thinking: c.Thinking, Signature: c.Signature})
			continue
		case "redacted_thinking":
			out.Message.Blocks = append(out.Message.Blocks, Block{Type: BlockRedactedThinking, Data: c.Data})
			continue
		case "tool_use":
			in := json.RawMessage(append([]byte(nil), c.Input...))
			out.Message.Blocks = append(out.Message.Blocks, Block{Type: BlockToolUse, ID: c.ID, Name: c.Name, Input: in})
			continue
		}
		raw, err := json.Marshal(c.ToParam())
		if err != nil {
			return nil, err
		}
		out.Message.Blocks = append(out.Message.Blocks, Block{Type: BlockRaw, RawType: c.Type, Raw: raw, Text: c.Text})
	}
	return out, nil
}

func usageOf(u anthropic.Usage) Usage {
	out := Usage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens, CacheReadTokens: u.CacheReadInputTokens,
		ThinkingTokens: u.OutputTokensDetails.ThinkingTokens, WebSearches: u.ServerToolUse.WebSearchRequests}
	h1 := u.CacheCreation.Ephemeral1hInputTokens
	if h1 > 0 && h1 <= u.CacheCreationInputTokens {
		out.CacheWrite1hTokens = h1
		out.CacheWriteTokens = u.CacheCreationInputTokens - h1
	} else {
		out.CacheWriteTokens = u.CacheCreationInputTokens
	}
	return out
}

func anthropicError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ae *anthropic.Error
	if !errors.As(err, &ae) {
		return &ProviderError{Kind: ErrTransport, Message: err.Error()}
	}
	pe := &ProviderError{Kind: ErrHTTP, Status: ae.StatusCode, Type: string(ae.Type()), Message: ae.Message}
	if ae.StatusCode == http.StatusOK {
		pe.Kind = ErrStreamEvent
	}
	var body struct {
		Error struct {
			Details struct {
				ErrorCode string `json:"error_code"`
			} `json:"details"`
		} `json:"error"`
		Details struct {
			ErrorCode string `json:"error_code"`
		} `json:"details"`
	}
	if json.Unmarshal([]byte(ae.RawJSON()), &body) == nil {
		pe.Code = body.Error.Details.ErrorCode
		if pe.Code == "" {
			pe.Code = body.Details.ErrorCode
		}
	}
	if ae.Response != nil {
		pe.RetryAfter = retryAfter(ae.Response.Header)
	}
	return pe
}

// retryAfter reads retry-after-ms, then retry-after (seconds).
func retryAfter(h http.Header) time.Duration {
	if v := h.Get("retry-after-ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	if v := strings.TrimSpace(h.Get("retry-after")); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
			return time.Duration(s * float64(time.Second))
		}
		if t, err := http.ParseTime(v); err == nil {
			if d := time.Until(t); d > 0 {
				return d
			}
		}
	}
	return 0
}
