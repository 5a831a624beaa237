package deploy_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ecode/internal/store"
	"ecode/internal/testutil"
)

const countingApp = `import http from "node:http";
import fs from "node:fs";
if (fs.existsSync("fail-next")) { console.log("refusing to start"); process.exit(3); }
let hits = 0;
http.createServer((req, res) => { hits++; res.end("hits=" + hits); })
  .listen(Number(process.env.PORT), "127.0.0.1", () => console.log("started"));
`

// TestAutoscale: an autoscale deployment's instance is stopped (its
// sandbox gone) after the idle timeout on the service's clock; the next
// request is held while it starts and answered by the fresh process;
// requests arriving together start it once; a start that fails answers
// 503 with the reason, and the next request tries again.
func TestAutoscale(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		p, err := e.c.CreateProject(ctx, "Sleepy", "node")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.c.WriteFile(ctx, p.ID, "index.js", []byte(countingApp)); err != nil {
			t.Fatal(err)
		}
		pub := e.publish(p.ID, "autoscale")
		if r := e.waitRelease(p.ID, pub.Release.ID, "live", "failed"); r.Status != "live" {
			t.Fatalf("release: %+v", r)
		}
		if code, body := e.fetch(pub.URL, "/"); code != 200 || body != "hits=1" {
			t.Fatalf("first request: %d %q", code, body)
		}
		sandboxes := func() int {
			m, _ := filepath.Glob(filepath.Join(os.TempDir(), "ecode-sandbox-*", "ws", "i-"+pub.Release.ID+"-*"))
			return len(m)
		}
		if n, d := sandboxes(), e.getScale(p.ID); n != 1 || d.Instances != 1 || d.Asleep || d.Kind != "autoscale" {
			t.Fatalf("running: %d sandboxes, %+v", n, d)
		}

		if n := e.srv.Deploy.ScaleIdle(); n != 0 {
			t.Fatalf("scaled %d instances to zero before the idle timeout", n)
		}
		e.srv.Clock.Advance(15*time.Minute + time.Second)
		if n := e.srv.Deploy.ScaleIdle(); n != 1 {
			t.Fatalf("ScaleIdle after the idle timeout stopped %d instances", n)
		}
		if n, d := sandboxes(), e.getScale(p.ID); n != 0 || d.Instances != 0 || !d.Asleep || d.Status != "live" {
			t.Fatalf("idle: %d sandboxes, %+v", n, d)
		}

		// the waking request is held until the app listens, then served by the new process
		if code, body := e.fetch(pub.URL, "/"); code != 200 || body != "hits=1" {
			t.Fatalf("waking request: %d %q", code, body)
		}
		if n, d := sandboxes(), e.getScale(p.ID); n != 1 || d.Instances != 1 || d.Asleep {
			t.Fatalf("woken: %d sandboxes, %+v", n, d)
		}

		// several requests at once while asleep: one start, all served
		e.srv.Clock.Advance(15*time.Minute + time.Second)
		if n := e.srv.Deploy.ScaleIdle(); n != 1 {
			t.Fatalf("second ScaleIdle stopped %d", n)
		}
		var wg sync.WaitGroup
		bodies := make([]string, 5)
		for i := range bodies {
			wg.Go(func() {
				code, body := e.fetchStatus(pub.URL, "/")
				if code != 200 {
					body = "status " + body
				}
				bodies[i] = body
			})
		}
		wg.Wait()
		for _, b := range bodies {
			if !strings.HasPrefix(b, "hits=") {
				t.Fatalf("concurrent waking requests: %q", bodies)
			}
		}
		if l := appLogLines(t, e, p.ID, "started"); len(l) != 3 {
			t.Fatalf("the app started %d times, want 3 (publish, wake, one wake for five requests): %q", len(l), l)
		}

		// a start that fails: 503 with the reason; the next request starts it
		flag := filepath.Join(e.srv.Dir, "deployments", p.ID, pub.Release.ID, "app", "fail-next")
		if err := os.WriteFile(flag, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		e.srv.Clock.Advance(15*time.Minute + time.Second)
		if n := e.srv.Deploy.ScaleIdle(); n != 1 {
			t.Fatalf("third ScaleIdle stopped %d", n)
		}
		code, body := e.fetch(pub.URL, "/")
		if code != 503 || !strings.Contains(body, "did not start") || !strings.Contains(body, "exited with code 3") {
			t.Fatalf("failed wake answered %d %q", code, body)
		}
		if d := e.getScale(p.ID); d.Instances != 0 || !d.Asleep {
			t.Fatalf("after a failed wake: %+v", d)
		}
		os.Remove(flag)
		if code, body := e.fetch(pub.URL, "/"); code != 200 || body != "hits=1" {
			t.Fatalf("wake after the failure: %d %q", code, body)
		}
	})
}

type scaleState struct {
	Kind      string `json:"kind"`
	Status    string `json:"status"`
	Instances int    `json:"instances"`
	Asleep    bool   `json:"asleep"`
}

func (e *env) getScale(projectID string) scaleState {
	e.t.Helper()
	var d scaleState
	if err := e.c.Do(context.Background(), "GET", "/api/projects/"+projectID+"/deployment", nil, "", &d); err != nil {
		e.t.Fatal(err)
	}
	return d
}

// appLogLines is the active release's runtime log lines containing q.
func appLogLines(t *testing.T, e *env, projectID, q string) []string {
	t.Helper()
	var l appLog
	if err := e.c.Do(context.Background(), "GET", "/api/projects/"+projectID+"/deployment/logs?q="+q, nil, "", &l); err != nil {
		t.Fatal(err)
	}
	return l.Lines
}
