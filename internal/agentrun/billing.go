package agentrun

import (
	"context"
	"errors"
	"strings"

	"ecode/internal/agent"
	"ecode/internal/billing"
)

// admit checks the account may start agent work and quotes the turn: the
// quote, and the cap in the model's own cost for the loop's money limit
// (nil and 0 without billing).
func (s *Service) admit(ctx context.Context, userID, prompt string, mode agent.Mode, level string) (*billing.Quote, int64, error) {
	b := s.d.Billing
	if b == nil {
		return nil, 0, nil
	}
	if err := b.Allow(ctx, userID, billing.WorkAgent); err != nil {
		return nil, 0, err
	}
	q, err := b.Quote(ctx, billing.QuoteRequest{Prompt: prompt, Thinking: mode.ExtendedThinking, HighPower: mode.HighPower,
		WebSearch: mode.WebSearch, Level: level})
	if err != nil {
		return nil, 0, err
	}
	rawCap, err := b.AgentCostCapMicros(ctx, q)
	return &q, rawCap, err
}

// charge records what the finished turn costs in the ledger.
func (s *Service) charge(t *Turn, userID string) {
	if s.d.Billing == nil || t.quote == nil {
		return
	}
	res, runErr := t.Result()
	c := billing.TurnCharge{TurnID: t.ID, ProjectID: t.ProjectID, UserID: userID, Model: t.model, Quote: *t.quote,
		Failed: runErr != nil || res == nil}
	if res != nil {
		u := res.Metrics.Usage
		c.Tokens = billing.TokenUsage{Input: u.InputTokens, Output: u.OutputTokens, CacheRead: u.CacheReadTokens,
			CacheWrite: u.CacheWriteTokens + u.CacheWrite1hTokens}
		c.Stop, c.Steps = string(res.Stop), res.Metrics.Steps
	}
	amount, err := s.d.Billing.RecordTurn(context.Background(), c)
	if err != nil {
		s.d.Log.Error("agent: charge turn", "turn", t.ID, "err", err)
		return
	}
	t.mu.Lock()
	t.charged = amount
	t.mu.Unlock()
}

// Billing is the turn's quote (nil without billing) and what it was charged.
func (t *Turn) Billing() (*billing.Quote, int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.quote, t.charged
}

// Classify asks the configured model for a request's complexity level with
// the billing rubric (one short call, no tools): its answer's first word.
func (s *Service) Classify(ctx context.Context, rubric, prompt string) (string, error) {
	ch, err := s.choose(ctx)
	if err != nil {
		return "", err
	}
	a, err := s.newAgent(ch, agent.Env{}, nil)
	if err != nil {
		return "", err
	}
	model := a.Quote(&agent.Session{}, "", agent.Mode{}).Model.ID
	resp, err := ch.prov.Stream(ctx, agent.Request{Model: model, System: rubric, MaxTokens: 16, NoTools: true,
		Messages: []agent.Message{{Role: agent.RoleUser, Blocks: []agent.Block{{Type: agent.BlockText, Text: prompt}}}}},
		func(agent.StreamEvent) {})
	if err != nil {
		return "", err
	}
	for _, b := range resp.Message.Blocks {
		if f := strings.Fields(b.Text); b.Type == agent.BlockText && len(f) > 0 {
			return strings.Trim(f[0], ".,:;\"'`*"), nil
		}
	}
	return "", errors.New("the model gave no level")
}
