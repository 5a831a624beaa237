package deploy_test

import (
	"context"
	"strings"
	"testing"

	"ecode/internal/store"
	"ecode/internal/testutil"
)

const secretApp = `import http from "node:http";
console.log("key is " + process.env.API_KEY);
http.createServer((req, res) => {
  res.end([process.env.API_KEY, process.env.DEV_ONLY, process.env.PROD_ONLY].join(","));
}).listen(Number(process.env.PORT), "127.0.0.1");
`

// TestProductionSecrets: the published app sees the production value of
// a secret over the development one, the development secrets production
// does not set, and the production-only ones; the workspace's own run
// never sees production values; the value is masked in the app's log.
func TestProductionSecrets(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		p, err := e.c.CreateProject(ctx, "Secretive", "node")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.c.WriteFile(ctx, p.ID, "index.js", []byte(secretApp)); err != nil {
			t.Fatal(err)
		}
		put := func(path, value string) {
			t.Helper()
			body := strings.NewReader(`{"value":"` + value + `"}`)
			if err := e.c.Do(ctx, "PUT", "/api/projects/"+p.ID+path, body, "application/json", nil); err != nil {
				t.Fatalf("PUT %s: %v", path, err)
			}
		}
		put("/secrets/API_KEY", "development-key-value")
		put("/secrets/DEV_ONLY", "development-only-value")
		put("/deployment/secrets/API_KEY", "production-key-value")
		put("/deployment/secrets/PROD_ONLY", "production-only-value")

		pub := e.publish(p.ID, "server")
		if r := e.waitRelease(p.ID, pub.Release.ID, "live", "failed"); r.Status != "live" {
			t.Fatalf("release: %+v", r)
		}
		want := "production-key-value,development-only-value,production-only-value"
		if code, body := e.fetch(pub.URL, "/"); code != 200 || body != want {
			t.Fatalf("the published app answered %d %q, want %q", code, body, want)
		}
		var l appLog
		if err := e.c.Do(ctx, "GET", "/api/projects/"+p.ID+"/deployment/logs?q=key+is", nil, "", &l); err != nil {
			t.Fatal(err)
		}
		if len(l.Lines) != 1 || strings.Contains(l.Lines[0], "production-key-value") {
			t.Fatalf("the app's log does not mask the production value: %+v", l)
		}
		var res struct {
			ExitCode int    `json:"exit_code"`
			Stdout   string `json:"stdout"`
		}
		cmd := `{"command":"[ \"$API_KEY\" = development-key-value ] && printf 'dev,%s' \"${PROD_ONLY:-unset}\""}`
		if err := e.c.Do(ctx, "POST", "/api/projects/"+p.ID+"/exec", strings.NewReader(cmd), "application/json", &res); err != nil {
			t.Fatal(err)
		}
		if res.ExitCode != 0 || res.Stdout != "dev,unset" {
			t.Fatalf("the workspace sees production values: %+v", res)
		}
		var list []struct {
			Name  string `json:"name"`
			Scope string `json:"scope"`
		}
		if err := e.c.Do(ctx, "GET", "/api/projects/"+p.ID+"/deployment/secrets", nil, "", &list); err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].Name != "API_KEY" || list[0].Scope != "production" || list[1].Name != "PROD_ONLY" {
			t.Fatalf("production secrets listed: %+v", list)
		}
	})
}
