package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// agentProviderKey is the settings row holding the admin's AI provider.
const agentProviderKey = "agent.provider"

// AgentProvider is the AI model provider an admin configured in the UI.
// The API key is stored only sealed (package secretbox, by the caller);
// APIKeyHint is its last four characters, which the admin may see.
type AgentProvider struct {
	Provider       string    `json:"provider"` // "anthropic" | "openai"
	BaseURL        string    `json:"base_url,omitempty"`
	APIKeySealed   string    `json:"api_key_sealed,omitempty"`
	APIKeyHint     string    `json:"api_key_hint,omitempty"`
	Model          string    `json:"model,omitempty"`
	HighPowerModel string    `json:"high_power_model,omitempty"`
	UpdatedBy      string    `json:"updated_by,omitempty"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// AgentProvider returns the stored provider settings, or ErrNotFound when
// the admin has configured none.
func (s *Store) AgentProvider(ctx context.Context) (AgentProvider, error) {
	v, err := s.Setting(ctx, agentProviderKey)
	if err != nil {
		return AgentProvider{}, err
	}
	var p AgentProvider
	if err := json.Unmarshal([]byte(v), &p); err != nil {
		return AgentProvider{}, fmt.Errorf("setting %s: %w", agentProviderKey, err)
	}
	return p, nil
}

// SetAgentProvider stores the provider settings, replacing any before.
func (s *Store) SetAgentProvider(ctx context.Context, p AgentProvider) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return s.SetSetting(ctx, agentProviderKey, string(b))
}

// DeleteAgentProvider removes the stored provider settings (the server
// falls back to its configuration). Deleting none is not an error.
func (s *Store) DeleteAgentProvider(ctx context.Context) error {
	_, err := s.exec(ctx, `DELETE FROM settings WHERE key = ?`, agentProviderKey)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("delete %s: %w", agentProviderKey, err)
	}
	return nil
}
