package deploy_test

import (
	"context"
	"strings"
	"testing"

	"ecode/internal/store"
	"ecode/internal/testutil"
)

const crashingApp = `import http from "node:http";
http.createServer((req, res) => {
  if (req.url === "/crash") process.exit(7);
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
	})
}
