package deploy_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"ecode/internal/config"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// TestResumeAfterRestart: a server started again on the same data serves
// the live release again by itself.
func TestResumeAfterRestart(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		p, err := e.c.CreateProject(ctx, "Lasting", "node")
		if err != nil {
			t.Fatal(err)
		}
		pub := e.publish(p.ID, "server")
		if r := e.waitRelease(p.ID, pub.Release.ID, "live", "failed"); r.Status != "live" {
			t.Fatalf("release: %+v", r)
		}
		e.srv.Close() // the first server stops: its instances end
		srv2 := testutil.NewServer(t, st, testutil.ServerOptions{Dir: e.srv.Dir, Config: func(c *config.Config) { c.DeployHealth = 20 * time.Second }})
		u, _ := url.Parse(pub.URL) // the same host name, on the new server's port
		u.Host = u.Hostname() + srv2.URL[strings.LastIndex(srv2.URL, ":"):]
		url2 := u.String()
		e2 := newEnvOn(t, srv2)
		deadline := time.After(2 * time.Minute)
		for {
			changed := srv2.Deploy.Changed()
			if code, body := e2.fetchStatus(url2, "/"); code == 200 && strings.Contains(body, "Hello from Node.js") {
				return
			}
			select {
			case <-changed:
			case <-deadline:
				t.Fatal("the deployment did not come back after the restart")
			}
		}
	})
}
