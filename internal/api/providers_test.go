package api_test

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"ecode/internal/agent"
	"ecode/internal/agent/fake"
	"ecode/internal/agentrun"
	"ecode/internal/client"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// providerServer is a server on st whose agent has a master key in its data
// dir and no provider in its configuration; the log goes to logs.
func providerServer(t *testing.T, st *store.Store, logs io.Writer) *testutil.Server {
	t.Helper()
	return testutil.NewServer(t, st, testutil.ServerOptions{Logs: logs})
}

// An admin configures the provider through the API: the key is stored
// sealed, shown only as a hint, never logged, and the next turn uses it.
func TestAgentProviderSettingsAPI(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		const key = "sk-ant-test-0123456789-abcd"
		fk := fake.NewAnthropic(&fake.Transcript{Steps: []fake.Step{
			{Respond: fake.Respond{StopReason: "end_turn", Content: []fake.Content{fake.Text("OK")}}},
			{Expect: &fake.Expect{LastUserText: "hello"}, Respond: fake.Respond{StopReason: "end_turn", Content: []fake.Content{fake.Text("Hello from the stored provider")}}},
		}})
		fk.APIKey = key
		t.Cleanup(fk.Close)
		logs := &testutil.LogBuffer{}
		srv := providerServer(t, st, logs)
		ctx := context.Background()
		admin := srv.User(t, "admin") // the first user is the admin
		user := srv.User(t, "user")

		var ps agentrun.ProviderSettings
		if err := admin.Do(ctx, "GET", "/api/admin/agent/settings", nil, "", &ps); err != nil || ps.Source != "none" || ps.APIKeySet ||
			len(ps.AnthropicModels) == 0 {
			t.Fatalf("settings %+v, %v", ps, err)
		}
		var status agentrun.Status
		if err := admin.Do(ctx, "GET", "/api/agent/status", nil, "", &status); err != nil || status.Configured ||
			!strings.Contains(status.Help, "Settings → AI provider") || status.Source != "none" {
			t.Fatalf("admin status %+v, %v", status, err)
		}
		if err := user.Do(ctx, "GET", "/api/agent/status", nil, "", &status); err != nil || !strings.Contains(status.Help, "Ask an administrator") {
			t.Fatalf("user status %+v, %v", status, err)
		}
		var res struct {
			OK    bool   `json:"ok"`
			Error string `json:"error"`
		}
		if err := admin.Do(ctx, "POST", "/api/admin/agent/test", nil, "", &res); err != nil || res.OK || res.Error == "" {
			t.Fatalf("test without a provider %+v, %v", res, err)
		}

		put := func(body string) (string, error) {
			resp, err := admin.Raw(ctx, "PUT", "/api/admin/agent/settings", strings.NewReader(body), "application/json")
			if err != nil {
				return "", err
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			return string(b), err
		}
		_, err := put(`{"provider":"anthropic","api_key":"` + key + `","model":"gpt-4o"}`)
		if e, ok := err.(*client.Error); !ok || e.Status != 400 || !strings.Contains(e.Fields["model"], "claude-sonnet-4-5") {
			t.Fatalf("unknown model: %v", err)
		}
		if _, err := put(`{"provider":"bard"}`); err == nil {
			t.Fatal("unknown provider accepted")
		}
		body, err := put(`{"provider":"anthropic","base_url":"` + fk.URL + `","api_key":"` + key + `","model":"claude-sonnet-4-5"}`)
		if err != nil || strings.Contains(body, "0123456789") {
			t.Fatalf("save: %s, %v", body, err)
		}
		json.Unmarshal([]byte(body), &ps)
		if ps.Source != "settings" || !ps.APIKeySet || ps.APIKeyHint != "…abcd" || ps.BaseURL != fk.URL || ps.Model != "claude-sonnet-4-5" {
			t.Fatalf("saved %+v", ps)
		}
		if raw, err := st.Setting(ctx, "agent.provider"); err != nil || strings.Contains(raw, "0123456789") {
			t.Fatalf("stored in the clear: %q, %v", raw, err)
		}
		resp, err := admin.Raw(ctx, "GET", "/api/admin/agent/settings", nil, "")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), "0123456789") || !strings.Contains(string(b), `"api_key_hint":"…abcd"`) {
			t.Fatalf("GET settings: %s", b)
		}
		if err := admin.Do(ctx, "POST", "/api/admin/agent/test", nil, "", &res); err != nil || !res.OK {
			t.Fatalf("connection test %+v, %v", res, err)
		}
		if err := user.Do(ctx, "GET", "/api/agent/status", nil, "", &status); err != nil || !status.Configured ||
			status.Provider != "anthropic" || status.Source != "settings" || status.Model != "claude-sonnet-4-5" {
			t.Fatalf("status %+v, %v", status, err)
		}

		// a turn of a non-admin editor uses the stored provider
		p, err := user.CreateProject(ctx, "agent", "")
		if err != nil {
			t.Fatal(err)
		}
		tr, err := user.Raw(ctx, "POST", "/api/projects/"+p.ID+"/agent/turns", strings.NewReader(`{"prompt":"hello"}`), "application/json")
		if err != nil {
			t.Fatal(err)
		}
		evs := readAgentSSE(t, tr.Body)
		tr.Body.Close()
		var final struct {
			Result agent.Result `json:"result"`
			Error  string       `json:"error"`
		}
		if len(evs) == 0 || json.Unmarshal([]byte(evs[len(evs)-1].Data), &final) != nil ||
			final.Result.Text != "Hello from the stored provider" || final.Error != "" {
			t.Fatalf("turn %v", evs)
		}
		for _, f := range fk.Failures() {
			t.Error("fake provider:", f)
		}

		// saving without api_key keeps it; "" clears it (refused for Anthropic, fine for a local server)
		if body, err := put(`{"provider":"anthropic","base_url":"` + fk.URL + `"}`); err != nil || !strings.Contains(body, `"api_key_set":true`) {
			t.Fatalf("keep key: %s, %v", body, err)
		}
		if _, err := put(`{"provider":"anthropic","api_key":""}`); err == nil {
			t.Fatal("Anthropic without a key accepted")
		}
		if body, err := put(`{"provider":"openai","base_url":"http://127.0.0.1:11434/v1","api_key":"","model":"qwen3-coder:30b"}`); err != nil ||
			!strings.Contains(body, `"api_key_set":false`) || !strings.Contains(body, `"model":"qwen3-coder:30b"`) {
			t.Fatalf("clear key: %s, %v", body, err)
		}
		if body, err := put(`{"provider":""}`); err != nil || !strings.Contains(body, `"source":"none"`) {
			t.Fatalf("remove: %s, %v", body, err)
		}
		if l := logs.String(); strings.Contains(l, "0123456789") || !strings.Contains(l, "agent provider settings changed") {
			t.Errorf("log holds the key, or not the change:\n%s", l)
		}
	})
}
