package deploy_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"ecode/internal/store"
	"ecode/internal/testutil"
)

const crashingApp = `import http from "node:http";
http.createServer((req, res) => {
  if (req.url === "/crash") { console.log("crash requested"); process.exit(7); }
  console.log("hit " + req.url);
  res.end("<h1>still here</h1>");
}).listen(Number(process.env.PORT), "127.0.0.1");
`

// TestCrashRestart: the live app's process exits; the release shows as
// crashing with the exit code, is started again, and serves again.
func TestCrashRestart(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		p, err := e.c.CreateProject(ctx, "Crashy", "node")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.c.WriteFile(ctx, p.ID, "index.js", []byte(crashingApp)); err != nil {
			t.Fatal(err)
		}
		pub := e.publish(p.ID, "server")
		if r := e.waitRelease(p.ID, pub.Release.ID, "live", "failed"); r.Status != "live" {
			t.Fatalf("release: %+v", r)
		}
		e.app.Get(pub.URL + "/crash") // the process exits: no answer
		r := e.waitRelease(p.ID, pub.Release.ID, "crashing")
		if !strings.Contains(r.Reason, "exited with code 7") || !strings.Contains(r.Reason, "restarting in") {
			t.Fatalf("crashing release: %+v", r)
		}
		e.waitRelease(p.ID, pub.Release.ID, "live")
		if code, body := e.fetch(pub.URL, "/"); code != 200 || !strings.Contains(body, "still here") {
			t.Fatalf("after the restart the app answered %d %q", code, body)
		}
		checkAppLog(t, e, p.ID, pub.Release.ID)
	})
}

type appLog struct {
	ReleaseID string   `json:"release_id"`
	Lines     []string `json:"lines"`
	Truncated bool     `json:"truncated"`
}

// checkAppLog: the runtime log route shows the app's own output, filtered
// by the search (case-insensitive) and cut to the tail asked for.
func checkAppLog(t *testing.T, e *env, projectID, releaseID string) {
	t.Helper()
	get := func(query string) appLog {
		var l appLog
		if err := e.c.Do(context.Background(), "GET", "/api/projects/"+projectID+"/deployment/logs?"+query, nil, "", &l); err != nil {
			t.Fatal(err)
		}
		return l
	}
	if l := get("q=REQUESTED"); !slices.Equal(l.Lines, []string{"crash requested"}) || l.ReleaseID != releaseID || l.Truncated {
		t.Fatalf("log searched for crash: %+v", l)
	}
	if l := get("q=hit&release=" + releaseID); !slices.Equal(l.Lines, []string{"hit /"}) {
		t.Fatalf("log searched for hit: %+v", l)
	}
	if l := get("tail=1"); len(l.Lines) != 1 || !l.Truncated || l.Lines[0] != "hit /" {
		t.Fatalf("log tail 1: %+v", l)
	}
}
