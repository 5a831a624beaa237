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

// TestResumeAsleep: after a restart an autoscale deployment comes back
// asleep (no sandbox started) and the first request wakes it.
func TestResumeAsleep(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		p, err := e.c.CreateProject(ctx, "Dozing", "node")
		if err != nil {
			t.Fatal(err)
		}
		pub := e.publish(p.ID, "autoscale")
		if r := e.waitRelease(p.ID, pub.Release.ID, "live", "failed"); r.Status != "live" {
			t.Fatalf("release: %+v", r)
		}
		e.srv.Close()
		srv2 := testutil.NewServer(t, st, testutil.ServerOptions{Dir: e.srv.Dir, Config: func(c *config.Config) { c.DeployHealth = 20 * time.Second }})
		deadline := time.After(time.Minute)
		for {
			changed := srv2.Deploy.Changed()
			d, err := srv2.Deploy.Get(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if d.Asleep {
				if d.Instances != 0 {
					t.Fatalf("asleep with %d instances", d.Instances)
				}
				break
			}
			if d.Instances > 0 {
				t.Fatalf("the autoscale deployment was started at resume: %+v", d)
			}
			select {
			case <-changed:
			case <-deadline:
				t.Fatal("the deployment was not resumed asleep")
			}
		}
		u, _ := url.Parse(pub.URL)
		u.Host = u.Hostname() + srv2.URL[strings.LastIndex(srv2.URL, ":"):]
		e2 := newEnvOn(t, srv2)
		if code, body := e2.fetch(u.String(), "/"); code != 200 || !strings.Contains(body, "Hello from Node.js") {
			t.Fatalf("first request after the restart: %d %q", code, body)
		}
		if d, _ := srv2.Deploy.Get(ctx, p.ID); d.Instances != 1 || d.Asleep {
			t.Fatalf("after the wake: %+v", d)
		}
	})
}
