package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"ecode/internal/store"
	"ecode/internal/testutil"
)

// FuzzRequestBodies sends arbitrary bodies and paths to JSON endpoints: the
// server must answer with a client error or success, never a 5xx, and
// errors must have the documented shape.
func FuzzRequestBodies(f *testing.F) {
	srv := testutil.NewServer(f, testutil.NewStore(f, store.SQLite))
	c := srv.User(f, "fuzz")
	tok, err := c.CreateToken(context.Background(), "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	p, err := c.CreateProject(context.Background(), "fuzz", "static")
	if err != nil {
		f.Fatal(err)
	}
	h := srv.API.Handler()
	for _, s := range []string{`{"path":"a"}`, `{"from":"index.html","to":"b/c.html"}`, `{"name":"x","template":"node"}`,
		`{`, `null`, `{"path":"../x"}`, `{"name":"` + strings.Repeat("é", 120) + `"}`, `{"email":"a@b.c","role":"owner"}`, "\x00"} {
		f.Add(s, "mkdir")
		f.Add(s, "move")
	}
	targets := map[string]string{
		"mkdir": "/api/projects/" + p.ID + "/mkdir", "move": "/api/projects/" + p.ID + "/move",
		"members": "/api/projects/" + p.ID + "/members", "projects": "/api/projects", "tokens": "/api/tokens",
	}
	f.Fuzz(func(t *testing.T, body, target string) {
		url, ok := targets[target]
		if !ok {
			url = "/api/projects/" + p.ID + "/files/" + target
		}
		req := httptest.NewRequest("POST", "/", strings.NewReader(body))
		req.URL.Path = url
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("POST %s %q: status %d: %s", url, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 && rec.Code != http.StatusMethodNotAllowed {
			var env struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Error.Code == "" || env.Error.Message == "" {
				t.Fatalf("POST %s %q: error body %q is not the documented shape", url, body, rec.Body)
			}
		}
	})
}
