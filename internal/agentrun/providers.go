package agentrun

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"ecode/internal/agent"
	"ecode/internal/store"
)

// Provider kinds.
const (
	KindAnthropic = "anthropic"
	KindOpenAI    = "openai"
)

// Where the provider in use comes from.
const (
	SourceSettings    = "settings"    // an admin's settings in the database
	SourceEnvironment = "environment" // the server's flags and environment
	SourceNone        = "none"
)

// APIKeyAD binds a sealed API key to its slot (the key rotation reseals it).
const APIKeyAD = "agent.provider.api_key"

// ErrNoSecrets means the service has no master key to seal API keys with.
var ErrNoSecrets = errors.New("the server has no master key for secrets")

// SettingsError is an invalid provider settings update.
type SettingsError struct {
	Fields map[string]string
	Models []string // the known models, when a model was refused
}

func (e *SettingsError) Error() string {
	var parts []string
	for k, v := range e.Fields {
		parts = append(parts, k+": "+v)
	}
	slices.Sort(parts)
	return "invalid provider settings: " + strings.Join(parts, "; ")
}

// ProviderSettings is the provider in use as an admin sees it: never the key,
// only whether one is set and its last four characters.
type ProviderSettings struct {
	Provider        string   `json:"provider"`
	BaseURL         string   `json:"base_url"`
	Model           string   `json:"model"`
	HighPowerModel  string   `json:"high_power_model"`
	APIKeySet       bool     `json:"api_key_set"`
	APIKeyHint      string   `json:"api_key_hint"`
	Source          string   `json:"source"`
	AnthropicModels []string `json:"anthropic_models"`
}

// ProviderUpdate changes the stored settings. APIKey nil keeps the stored
// key, "" clears it. Provider "" removes the stored settings (the server's
// configuration applies again).
type ProviderUpdate struct {
	Provider       string  `json:"provider"`
	BaseURL        string  `json:"base_url"`
	APIKey         *string `json:"api_key"`
	Model          string  `json:"model"`
	HighPowerModel string  `json:"high_power_model"`
}

// AnthropicModels lists the model IDs of the Anthropic model table.
func AnthropicModels() []string {
	var ids []string
	for id := range agent.DefaultModels() {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func keyHint(key string) string {
	if len(key) < 8 { // too short to show a part of it
		return ""
	}
	return "…" + key[len(key)-4:]
}

// choice is the provider a turn uses.
type choice struct {
	prov             agent.Provider
	source           string
	model, highPower string
}

// choose picks the provider: the stored settings when present, else the
// server's configuration. ErrNotConfigured when there is neither.
func (s *Service) choose(ctx context.Context) (choice, error) {
	if s == nil {
		return choice{}, ErrNotConfigured
	}
	if s.d.Store != nil {
		p, err := s.d.Store.AgentProvider(ctx)
		switch {
		case err == nil && p.Provider != "":
			key, err := s.openKey(p)
			if err != nil {
				return choice{}, err
			}
			return choice{prov: s.providerFor(p.Provider, p.BaseURL, key), source: SourceSettings,
				model: p.Model, highPower: p.HighPowerModel}, nil
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return choice{}, err
		}
	}
	if s.prov == nil {
		return choice{}, ErrNotConfigured
	}
	return choice{prov: s.prov, source: SourceEnvironment, model: s.cfg.Model}, nil
}

func (s *Service) openKey(p store.AgentProvider) (string, error) {
	if p.APIKeySealed == "" {
		return "", nil
	}
	if s.d.Secrets == nil {
		return "", ErrNoSecrets
	}
	key, err := s.d.Secrets.OpenString(p.APIKeySealed, APIKeyAD)
	if err != nil {
		return "", fmt.Errorf("the stored API key does not decrypt (was master.key replaced?): %w", err)
	}
	return key, nil
}

// providerFor builds a provider, reusing the last one built for the same
// settings (and so its HTTP connections).
func (s *Service) providerFor(kind, baseURL, key string) agent.Provider {
	id := kind + "\x00" + baseURL + "\x00" + key
	s.provMu.Lock()
	defer s.provMu.Unlock()
	if s.provID == id && s.provCached != nil {
		return s.provCached
	}
	var p agent.Provider
	if kind == KindAnthropic {
		p = agent.NewAnthropic(agent.AnthropicConfig{APIKey: key, BaseURL: baseURL})
	} else {
		p = agent.NewOpenAI(agent.OpenAIConfig{APIKey: key, BaseURL: baseURL})
	}
	p = s.withRedaction(p, key)
	s.provID, s.provCached = id, p
	return p
}

// ProviderSettings reports the provider in use, for the admin.
func (s *Service) ProviderSettings(ctx context.Context) (ProviderSettings, error) {
	out := ProviderSettings{Source: SourceNone, AnthropicModels: AnthropicModels()}
	p, err := s.d.Store.AgentProvider(ctx)
	switch {
	case err == nil && p.Provider != "":
		out.Provider, out.BaseURL, out.Model, out.HighPowerModel = p.Provider, p.BaseURL, p.Model, p.HighPowerModel
		out.APIKeySet, out.APIKeyHint, out.Source = p.APIKeySealed != "", p.APIKeyHint, SourceSettings
		return out, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return out, err
	}
	c := s.cfg
	switch {
	case c.AnthropicAPIKey != "":
		out.Provider, out.BaseURL, out.APIKeySet, out.APIKeyHint = KindAnthropic, c.AnthropicBaseURL, true, keyHint(c.AnthropicAPIKey)
	case c.OpenAIBaseURL != "" || c.OpenAIAPIKey != "":
		out.Provider, out.BaseURL, out.APIKeySet, out.APIKeyHint = KindOpenAI, c.OpenAIBaseURL, c.OpenAIAPIKey != "", keyHint(c.OpenAIAPIKey)
	default:
		return out, nil
	}
	out.Model, out.Source = c.Model, SourceEnvironment
	return out, nil
}

// SetProviderSettings validates and stores an admin's provider settings;
// the next turn uses them. The API key is sealed with the master key.
func (s *Service) SetProviderSettings(ctx context.Context, u ProviderUpdate, userID string) (ProviderSettings, error) {
	u.Provider, u.BaseURL = strings.TrimSpace(u.Provider), strings.TrimSpace(u.BaseURL)
	u.Model, u.HighPowerModel = strings.TrimSpace(u.Model), strings.TrimSpace(u.HighPowerModel)
	if u.Provider == "" {
		if err := s.d.Store.DeleteAgentProvider(ctx); err != nil {
			return ProviderSettings{}, err
		}
		return s.ProviderSettings(ctx)
	}
	old, err := s.d.Store.AgentProvider(ctx)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return ProviderSettings{}, err
	}
	f := map[string]string{}
	serr := &SettingsError{Fields: f}
	switch u.Provider {
	case KindAnthropic:
		known := agent.DefaultModels()
		for field, m := range map[string]string{"model": u.Model, "high_power_model": u.HighPowerModel} {
			if _, ok := known.Lookup(m); m != "" && !ok {
				f[field] = "unknown Anthropic model; known: " + strings.Join(AnthropicModels(), ", ")
				serr.Models = AnthropicModels()
			}
		}
	case KindOpenAI:
		if len(u.Model) > 200 || len(u.HighPowerModel) > 200 {
			f["model"] = "at most 200 characters"
		}
	default:
		f["provider"] = `must be "anthropic" or "openai" (or empty to use the server's configuration)`
	}
	if u.BaseURL != "" {
		if p, err := url.Parse(u.BaseURL); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || len(u.BaseURL) > 2000 {
			f["base_url"] = "must be an http(s) URL"
		}
	}
	p := store.AgentProvider{Provider: u.Provider, BaseURL: u.BaseURL, Model: u.Model, HighPowerModel: u.HighPowerModel,
		UpdatedBy: userID, UpdatedAt: s.d.Now()}
	switch {
	case u.APIKey == nil:
		p.APIKeySealed, p.APIKeyHint = old.APIKeySealed, old.APIKeyHint
	case *u.APIKey != "":
		key := strings.TrimSpace(*u.APIKey)
		if len(key) > 4096 || strings.ContainsAny(key, "\r\n") {
			f["api_key"] = "must be one line of at most 4096 characters"
			break
		}
		if s.d.Secrets == nil {
			return ProviderSettings{}, ErrNoSecrets
		}
		p.APIKeySealed, p.APIKeyHint = s.d.Secrets.SealString(key, APIKeyAD), keyHint(key)
	}
	if _, bad := f["api_key"]; !bad {
		switch {
		case u.Provider == KindAnthropic && p.APIKeySealed == "":
			f["api_key"] = "Anthropic needs an API key"
		case u.Provider == KindOpenAI && p.APIKeySealed == "" && p.BaseURL == "":
			f["base_url"] = "an OpenAI-compatible server needs a base URL (or an API key for api.openai.com)"
		}
	}
	if len(f) > 0 {
		return ProviderSettings{}, serr
	}
	if err := s.d.Store.SetAgentProvider(ctx, p); err != nil {
		return ProviderSettings{}, err
	}
	return s.ProviderSettings(ctx)
}

// TestProvider makes a tiny streaming call with the provider in use.
func (s *Service) TestProvider(ctx context.Context) error {
	ch, err := s.choose(ctx)
	if err != nil {
		return err
	}
	a, err := s.newAgent(ch, agent.Env{}, nil)
	if err != nil {
		return err
	}
	model := a.Quote(&agent.Session{}, "", agent.Mode{}).Model.ID
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err = ch.prov.Stream(ctx, agent.Request{Model: model, MaxTokens: 16,
		Messages: []agent.Message{{Role: agent.RoleUser, Blocks: []agent.Block{{Type: agent.BlockText, Text: "Reply with OK."}}}}},
		func(agent.StreamEvent) {})
	return err
}
