package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"ecode/internal/config"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// echoingProvider is a model server whose error bodies echo the request's
// credentials (as some proxies and misconfigured servers do): 401 in
// Anthropic's format, 400 in OpenAI's.
func echoingProvider(t *testing.T) (url string, seen func() string) {
	var mu sync.Mutex
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		creds := "x-api-key=" + r.Header.Get("X-Api-Key") + " authorization=" + r.Header.Get("Authorization")
		mu.Lock()
		got += creds + "\n"
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(r.URL.Path, "chat/completions") {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":{"message":"bad request with %s","type":"invalid_request_error"}}`, creds)
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"type":"error","error":{"type":"authentication_error","message":"invalid credentials: %s"}}`, creds)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() string { mu.Lock(); defer mu.Unlock(); return got }
}

// TestProviderKeyNeverLeaks: with a provider whose errors echo the API key,
// the key appears nowhere a project member (even a viewer) can read it, nor
// in the stored events, nor in the log.
func TestProviderKeyNeverLeaks(t *testing.T) {
	for _, kind := range []string{"anthropic-settings", "openai-environment"} {
		t.Run(kind, func(t *testing.T) {
			const key = "sk-leak-test-0123456789abcdef-KEY"
			ctx := context.Background()
			url, seen := echoingProvider(t)
			logs := &testutil.LogBuffer{}
			st := testutil.NewStore(t, store.SQLite)
			var srv *testutil.Server
			if kind == "anthropic-settings" {
				srv = providerServer(t, st, logs)
			} else {
				srv = testutil.NewServer(t, st, testutil.ServerOptions{Logs: logs, Config: func(c *config.Config) {
					c.OpenAIAPIKey, c.OpenAIBaseURL, c.AgentModel = key, url+"/v1", "m"
				}})
			}
			owner := srv.User(t, "owner")
			viewer := srv.User(t, "viewer")
			if kind == "anthropic-settings" {
				body := `{"provider":"anthropic","base_url":"` + url + `","api_key":"` + key + `","model":"claude-sonnet-4-5"}`
				if err := owner.Do(ctx, "PUT", "/api/admin/agent/settings", strings.NewReader(body), "application/json", nil); err != nil {
					t.Fatal(err)
				}
			}
			p, err := owner.CreateProject(ctx, "leak", "")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := owner.AddMember(ctx, p.ID, "viewer@example.test", "viewer"); err != nil {
				t.Fatal(err)
			}
			var answers []string
			resp, err := owner.Raw(ctx, "POST", "/api/projects/"+p.ID+"/agent/turns", strings.NewReader(`{"prompt":"hi"}`), "application/json")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			answers = append(answers, string(b))
			for _, path := range []string{"/agent/turns", "/agent/stream"} {
				var raw json.RawMessage
				if err := viewer.Do(ctx, "GET", "/api/projects/"+p.ID+path, nil, "", &raw); err == nil {
					answers = append(answers, string(raw))
				}
			}
			var test json.RawMessage
			if err := owner.Do(ctx, "POST", "/api/admin/agent/test", nil, "", &test); err == nil {
				answers = append(answers, string(test))
			}
			if !strings.Contains(seen(), key) {
				t.Fatalf("the provider never got the key (the test proves nothing): %q", seen())
			}
			if !strings.Contains(strings.Join(answers, "\n"), "[REDACTED]") {
				t.Errorf("the echoed error did not come back redacted: %q", answers)
			}
			for i, a := range answers {
				if strings.Contains(a, key) {
					t.Errorf("answer %d holds the key: %s", i, a)
				}
			}
			turns, err := st.AgentTurns(ctx, p.ID, 10, true)
			if err != nil || len(turns) == 0 {
				t.Fatalf("turns %v, %v", turns, err)
			}
			for _, tr := range turns {
				if strings.Contains(string(tr.Result), key) {
					t.Errorf("stored turn result holds the key: %s", tr.Result)
				}
				for _, e := range tr.Events {
					if strings.Contains(string(e.Data), key) {
						t.Errorf("stored agent event holds the key: %s", e.Data)
					}
				}
			}
			if strings.Contains(logs.String(), key) {
				t.Errorf("the log holds the key")
			}
		})
	}
}
