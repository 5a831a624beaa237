package deploy_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ecode/internal/config"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

const idApp = `import http from "node:http";
const id = Math.random().toString(36).slice(2);
http.createServer((req, res) => res.end(id)).listen(Number(process.env.PORT), "127.0.0.1");
`

// TestInstancesAndPruning: a release runs the deployment's instance count,
// each in a sandbox of its own, and the router spreads requests round
// robin over them; only the newest --deploy-keep-releases releases keep
// their files, older ones are marked pruned and cannot be activated.
func TestInstancesAndPruning(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		srv := testutil.NewServer(t, st, testutil.ServerOptions{Config: func(c *config.Config) {
			c.DeployHealth, c.DeployKeep = 20*time.Second, 2
		}})
		testutil.RequireSandbox(t, testutil.NewSandbox(t))
		e := newEnvOn(t, srv)
		e.c = srv.User(t, "publisher")
		ctx := context.Background()
		p, err := e.c.CreateProject(ctx, "Many", "node")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.c.WriteFile(ctx, p.ID, "index.js", []byte(idApp)); err != nil {
			t.Fatal(err)
		}
		publish := func(body string) published {
			t.Helper()
			e.srv.Clock.Advance(time.Second)
			var pub published
			if err := e.c.Do(ctx, "POST", "/api/projects/"+p.ID+"/deployment/publish", strings.NewReader(body), "application/json", &pub); err != nil {
				t.Fatal(err)
			}
			if r := e.waitRelease(p.ID, pub.Release.ID, "live", "failed"); r.Status != "live" {
				t.Fatalf("release: %+v", r)
			}
			return pub
		}
		if err := e.c.Do(ctx, "POST", "/api/projects/"+p.ID+"/deployment/publish", strings.NewReader(`{"kind":"server","instances":9}`), "application/json", nil); err == nil || !strings.Contains(err.Error(), "instances") {
			t.Fatalf("9 instances: %v", err)
		}
		first := publish(`{"kind":"server","instances":3}`)
		var d struct {
			Instances     int `json:"instances"`
			InstanceCount int `json:"instance_count"`
		}
		if err := e.c.Do(ctx, "GET", "/api/projects/"+p.ID+"/deployment", nil, "", &d); err != nil || d.Instances != 3 || d.InstanceCount != 3 {
			t.Fatalf("deployment: %+v %v", d, err)
		}
		seen := map[string]int{}
		for range 30 {
			code, body := e.fetch(first.URL, "/")
			if code != 200 {
				t.Fatalf("request: %d %q", code, body)
			}
			seen[body]++
		}
		if len(seen) != 3 {
			t.Fatalf("requests went to %d instances, want 3: %v", len(seen), seen)
		}
		for id, n := range seen {
			if n != 10 {
				t.Fatalf("instance %s got %d of 30 requests, want 10 (round robin): %v", id, n, seen)
			}
		}

		second := publish(`{}`)
		third := publish(`{}`) // keeps 2: the first is pruned
		dir := func(id string) string { return filepath.Join(e.srv.Dir, "deployments", p.ID, id) }
		if _, err := os.Stat(dir(first.Release.ID)); !os.IsNotExist(err) {
			t.Fatalf("the pruned release's files: %v", err)
		}
		for _, id := range []string{second.Release.ID, third.Release.ID} {
			if _, err := os.Stat(dir(id)); err != nil {
				t.Fatalf("a kept release's files: %v", err)
			}
		}
		status := map[string]string{}
		for _, r := range e.get(p.ID).Releases {
			status[r.ID] = r.Status
		}
		if status[first.Release.ID] != "pruned" || status[second.Release.ID] != "ready" || status[third.Release.ID] != "live" {
			t.Fatalf("statuses: %v", status)
		}
		err = e.c.Do(ctx, "POST", "/api/projects/"+p.ID+"/deployment/releases/"+first.Release.ID+"/activate", strings.NewReader(`{}`), "application/json", nil)
		if err == nil || !strings.Contains(err.Error(), "409") && !strings.Contains(err.Error(), "cannot be activated") {
			t.Fatalf("activating a pruned release: %v", err)
		}
		if code, body := e.fetch(third.URL, "/"); code != 200 || body == "" {
			t.Fatalf("after the refused rollback: %d %q", code, body)
		}
	})
}
