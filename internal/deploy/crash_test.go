package deploy_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"ecode/internal/app"
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
		checkCLI(t, e, p.ID, pub.Release.ID)
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

// checkCLI: ecode deploy list, logs and rollback with a personal access
// token against the running server.
func checkCLI(t *testing.T, e *env, projectID, firstID string) {
	t.Helper()
	ctx := context.Background()
	tok, err := e.c.CreateToken(ctx, "cli")
	if err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string {
		return map[string]string{"ECODE_SERVER": e.srv.URL, "ECODE_TOKEN": tok.Token}[k]
	}
	cli := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := app.Main(ctx, append([]string{"deploy"}, args...), getenv, &out, &out); err != nil {
			t.Fatalf("ecode deploy %v: %v\n%s", args, err, out.String())
		}
		return out.String()
	}
	if out := cli("logs", "Crashy", "-q", "requested"); out != "crash requested\n" {
		t.Fatalf("ecode deploy logs: %q", out)
	}
	second := e.publish(projectID, "server")
	e.waitRelease(projectID, second.Release.ID, "live")
	out := cli("list", projectID)
	if !strings.Contains(out, second.Release.ID+" *") || !strings.Contains(out, firstID) || !strings.Contains(out, ".apps.localhost") {
		t.Fatalf("ecode deploy list:\n%s", out)
	}
	if out := cli("rollback", projectID); !strings.HasPrefix(out, "release "+firstID+" is live") {
		t.Fatalf("ecode deploy rollback: %q", out)
	}
	if d := e.get(projectID); d.ActiveReleaseID != firstID {
		t.Fatalf("after the CLI rollback the active release is %s", d.ActiveReleaseID)
	}
	var bad bytes.Buffer
	if err := app.Main(ctx, []string{"deploy", "list", projectID}, func(string) string { return "" }, &bad, &bad); err == nil {
		t.Fatal("ecode deploy without a server or token succeeded")
	}
}
