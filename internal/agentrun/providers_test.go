package agentrun

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"ecode/internal/agent"
	"ecode/internal/agent/fake"
	"ecode/internal/secretbox"
)

func testBox(t *testing.T, fill byte) *secretbox.Box {
	t.Helper()
	b, err := secretbox.New(bytes.Repeat([]byte{fill}, secretbox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ptr(s string) *string { return &s }

// Stored settings take precedence over the configuration from the next turn
// on; the key is stored sealed; removing the settings restores the
// configuration's provider.
func TestStoredProviderSettings(t *testing.T) {
	ctx := context.Background()
	envFake := fake.NewAnthropic(&fake.Transcript{Steps: []fake.Step{
		{Respond: fake.Respond{StopReason: "end_turn", Content: []fake.Content{fake.Text("from the environment")}}},
	}})
	t.Cleanup(envFake.Close)
	stored := fake.NewAnthropic(&fake.Transcript{Steps: []fake.Step{
		{Respond: fake.Respond{StopReason: "end_turn", Content: []fake.Content{fake.Text("OK")}}}, // the connection test
		{Respond: fake.Respond{StopReason: "end_turn", Content: []fake.Content{fake.Text("from the settings")}}},
	}})
	stored.APIKey = "sk-stored-key-abcd"
	t.Cleanup(stored.Close)

	s, st, pid, _ := newService(t)
	s.cfg = Config{AnthropicAPIKey: "test-key", AnthropicBaseURL: envFake.URL}
	s.prov = agent.NewAnthropic(agent.AnthropicConfig{APIKey: "test-key", BaseURL: envFake.URL})
	s.d.Secrets = testBox(t, 7)

	if ps, err := s.ProviderSettings(ctx); err != nil || ps.Source != SourceEnvironment || ps.Provider != "anthropic" || !ps.APIKeySet || ps.APIKeyHint != "…-key" {
		t.Fatalf("environment settings %+v, %v", ps, err)
	}
	if st := s.Status(ctx, true); !st.Configured || st.Source != SourceEnvironment {
		t.Fatalf("status %+v", st)
	}

	// invalid updates
	_, err := s.SetProviderSettings(ctx, ProviderUpdate{Provider: "anthropic", APIKey: ptr("k-123456789"), Model: "gpt-5"}, "u1")
	var se *SettingsError
	if !errors.As(err, &se) || se.Fields["model"] == "" || len(se.Models) == 0 || !strings.Contains(se.Fields["model"], "claude-sonnet-4-5") {
		t.Fatalf("unknown model: %v", err)
	}
	for _, u := range []ProviderUpdate{
		{Provider: "gemini", APIKey: ptr("k")},
		{Provider: "anthropic"}, // no key
		{Provider: "anthropic", APIKey: ptr("k-123456789"), BaseURL: "ftp://x"},
		{Provider: "openai"}, // neither base URL nor key
	} {
		if _, err := s.SetProviderSettings(ctx, u, "u1"); !errors.As(err, &se) {
			t.Errorf("%+v accepted: %v", u, err)
		}
	}

	ps, err := s.SetProviderSettings(ctx, ProviderUpdate{Provider: "anthropic", BaseURL: stored.URL, APIKey: ptr("sk-stored-key-abcd"),
		Model: "claude-haiku-4-5", HighPowerModel: "claude-opus-4-5"}, "u1")
	if err != nil || ps.Source != SourceSettings || !ps.APIKeySet || ps.APIKeyHint != "…abcd" || ps.Model != "claude-haiku-4-5" {
		t.Fatalf("saved %+v, %v", ps, err)
	}
	raw, err := st.Setting(ctx, "agent.provider")
	if err != nil || strings.Contains(raw, "sk-stored") {
		t.Fatalf("stored row %q, %v", raw, err)
	}
	// saving without api_key keeps the key
	if ps, err = s.SetProviderSettings(ctx, ProviderUpdate{Provider: "anthropic", BaseURL: stored.URL, Model: "claude-haiku-4-5"}, "u1"); err != nil || ps.APIKeyHint != "…abcd" {
		t.Fatalf("kept key %+v, %v", ps, err)
	}
	if err := s.TestProvider(ctx); err != nil {
		t.Fatalf("connection test: %v", err)
	}
	if st := s.Status(ctx, false); !st.Configured || st.Source != SourceSettings || st.Model != "claude-haiku-4-5" {
		t.Fatalf("status %+v", st)
	}

	turn, err := s.Start(ctx, pid, "u1", "hello", agent.Mode{})
	if err != nil {
		t.Fatal(err)
	}
	<-turn.Done()
	res, err := turn.Result()
	if err != nil || res.Text != "from the settings" {
		t.Fatalf("turn %+v, %v", res, err)
	}
	reqs := stored.Requests()
	if len(reqs) != 2 || reqs[1].Body["model"] != "claude-haiku-4-5" || len(envFake.Requests()) != 0 {
		t.Fatalf("stored fake %d requests, environment fake %d", len(reqs), len(envFake.Requests()))
	}
	for _, f := range stored.Failures() {
		t.Error("fake:", f)
	}

	// another master key cannot open the stored key: not configured, and says why
	s.d.Secrets = testBox(t, 8)
	if st := s.Status(ctx, true); st.Configured || !strings.Contains(st.Help, "decrypt") || !strings.Contains(st.Help, "Settings → AI provider") {
		t.Fatalf("status under the wrong key %+v", st)
	}
	if _, err := s.Start(ctx, pid, "u1", "hello", agent.Mode{}); err == nil {
		t.Fatal("a turn started with a key that does not open")
	}
	s.d.Secrets = testBox(t, 7)

	// a wrong key fails the connection test
	if _, err := s.SetProviderSettings(ctx, ProviderUpdate{Provider: "anthropic", BaseURL: stored.URL, APIKey: ptr("sk-wrong-key-0000")}, "u1"); err != nil {
		t.Fatal(err)
	}
	if err := s.TestProvider(ctx); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong key: %v", err)
	}

	// provider "" removes the settings: the environment applies again
	if ps, err := s.SetProviderSettings(ctx, ProviderUpdate{}, "u1"); err != nil || ps.Source != SourceEnvironment {
		t.Fatalf("removed %+v, %v", ps, err)
	}
}

func TestStatusHelpWithoutProvider(t *testing.T) {
	s, _, _, _ := newService(t)
	ctx := context.Background()
	admin, user := s.Status(ctx, true), s.Status(ctx, false)
	if admin.Configured || admin.Source != SourceNone || !strings.HasPrefix(admin.Help, "Open Settings → AI provider") ||
		!strings.Contains(admin.Help, "ANTHROPIC_API_KEY") {
		t.Errorf("admin %+v", admin)
	}
	if !strings.Contains(user.Help, "Ask an administrator") {
		t.Errorf("user %+v", user)
	}
	if ps, err := s.ProviderSettings(ctx); err != nil || ps.Source != SourceNone || len(ps.AnthropicModels) == 0 {
		t.Errorf("settings %+v, %v", ps, err)
	}
	// without a master key, keys cannot be stored
	if _, err := s.SetProviderSettings(ctx, ProviderUpdate{Provider: "anthropic", APIKey: ptr("sk-123456789")}, "u1"); !errors.Is(err, ErrNoSecrets) {
		t.Errorf("no master key: %v", err)
	}
}
