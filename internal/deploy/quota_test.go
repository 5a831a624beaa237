package deploy_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"ecode/internal/client"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

const helloApp = `import http from "node:http";
http.createServer((req, res) => res.end("<h1>hello from the app</h1>")).listen(Number(process.env.PORT), "127.0.0.1");
`

// TestQuotaSuspendsDeployment: when the owner's credits run out, the live
// deployment stops with reason quota (shown on the release), its URL
// answers 503 with the paused page, the owner is notified, and resuming
// is refused; after a top-up, resuming it or publishing again serves the app.
func TestQuotaSuspendsDeployment(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		p, err := e.c.CreateProject(ctx, "Paid", "node")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.c.WriteFile(ctx, p.ID, "index.js", []byte(helloApp)); err != nil {
			t.Fatal(err)
		}
		pub := e.publish(p.ID, "server")
		if r := e.waitRelease(p.ID, pub.Release.ID, "live", "failed"); r.Status != "live" {
			t.Fatalf("release: %+v", r)
		}
		if code, body := e.fetch(pub.URL, "/"); code != 200 || !strings.Contains(body, "hello from the app") {
			t.Fatalf("before: %d %q", code, body)
		}

		// usage that leaves nothing: the billing service stops the account's work
		if _, err := e.srv.Billing.Recorder().RecordUsage(ctx, store.UsageEvent{ID: "big", IdempotencyKey: "suspend-big", ProjectID: p.ID,
			Kind: "sandbox_cpu_seconds", Quantity: 3600 * 1000, CreatedAt: e.srv.Clock.Now()}); err != nil {
			t.Fatal(err)
		}
		r := e.waitRelease(p.ID, pub.Release.ID, "suspended")
		if !strings.HasPrefix(r.Reason, "quota:") {
			t.Fatalf("suspended release: %+v, want reason quota", r)
		}
		if d := e.get(p.ID); d.Status != "suspended" || d.ActiveReleaseID != pub.Release.ID {
			t.Fatalf("deployment: %+v", d)
		}
		code, body := e.fetch(pub.URL, "/")
		if code != 503 || !strings.Contains(body, "This app is paused: its owner&#39;s credits are used up") {
			t.Fatalf("paused app answered %d %q", code, body)
		}
		ns, _, err := st.ListNotifications(ctx, p.OwnerID, 10)
		if err != nil {
			t.Fatal(err)
		}
		if !hasNotification(ns, "quota_warning", "Deployment paused") {
			t.Fatalf("the owner was not told: %+v", ns)
		}
		var ce *client.Error
		err = e.c.Do(ctx, "POST", "/api/projects/"+p.ID+"/deployment/releases/"+pub.Release.ID+"/activate", nil, "", nil)
		if !errors.As(err, &ce) || ce.Status != 402 {
			t.Fatalf("activating without credits: %v, want 402", err)
		}

		if err := e.srv.Billing.Grant(ctx, p.OwnerID, 1_000_000_000, "top up", "test", "suspend-topup"); err != nil {
			t.Fatal(err)
		}
		// after the top-up: the suspended release can be resumed as it is ...
		if err := e.c.Do(ctx, "POST", "/api/projects/"+p.ID+"/deployment/releases/"+pub.Release.ID+"/activate", nil, "", nil); err != nil {
			t.Fatalf("resuming after the top-up: %v", err)
		}
		if code, body := e.fetch(pub.URL, "/"); code != 200 || !strings.Contains(body, "hello from the app") {
			t.Fatalf("resumed: %d %q", code, body)
		}
		// ... or published again
		again := e.publish(p.ID, "server")
		if r := e.waitRelease(p.ID, again.Release.ID, "live", "failed"); r.Status != "live" {
			t.Fatalf("release after the top-up: %+v", r)
		}
		if code, body := e.fetch(again.URL, "/"); code != 200 || !strings.Contains(body, "hello from the app") {
			t.Fatalf("after the top-up: %d %q", code, body)
		}
		for _, r := range e.get(p.ID).Releases {
			if r.ID == pub.Release.ID && r.Status != "ready" {
				t.Fatalf("the suspended release after a new one went live: %+v, want ready", r)
			}
		}
	})
}

func hasNotification(ns []store.Notification, kind, title string) bool {
	for _, n := range ns {
		if n.Kind == kind && n.Title == title {
			return true
		}
	}
	return false
}

// TestQuotaSuspendedAfterRestart: a deployment suspended for quota stays
// paused when the server starts again on the same data (a static one here:
// suspension ends static instances too).
func TestQuotaSuspendedAfterRestart(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		p, err := e.c.CreateProject(ctx, "Static", "blank")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.c.WriteFile(ctx, p.ID, "index.html", []byte("<h1>static page</h1>")); err != nil {
			t.Fatal(err)
		}
		pub := e.publish(p.ID, "static")
		if r := e.waitRelease(p.ID, pub.Release.ID, "live", "failed"); r.Status != "live" {
			t.Fatalf("release: %+v", r)
		}
		if _, err := e.srv.Billing.Recorder().RecordUsage(ctx, store.UsageEvent{ID: "big", IdempotencyKey: "restart-big", ProjectID: p.ID,
			Kind: "sandbox_cpu_seconds", Quantity: 3600 * 1000, CreatedAt: e.srv.Clock.Now()}); err != nil {
			t.Fatal(err)
		}
		e.waitRelease(p.ID, pub.Release.ID, "suspended")
		if code, body := e.fetch(pub.URL, "/"); code != 503 || !strings.Contains(body, "paused") {
			t.Fatalf("suspended static app answered %d %q", code, body)
		}
		e.srv.Close()
		srv2 := testutil.NewServer(t, st, testutil.ServerOptions{Dir: e.srv.Dir})
		u, _ := url.Parse(pub.URL)
		u.Host = u.Hostname() + srv2.URL[strings.LastIndex(srv2.URL, ":"):]
		e2 := newEnvOn(t, srv2)
		deadline := time.After(time.Minute)
		for {
			changed := srv2.Deploy.Changed()
			code, body := e2.fetchStatus(u.String(), "/")
			if code == 503 && strings.Contains(body, "its owner&#39;s credits are used up") {
				break
			}
			if code == 200 {
				t.Fatalf("the suspended deployment was started at resume: %q", body)
			}
			select {
			case <-changed:
			case <-deadline:
				t.Fatalf("after the restart the app answered %d %q", code, body)
			}
		}
		if d, _ := srv2.Deploy.Get(ctx, p.ID); d.Status != "suspended" || d.Instances != 0 {
			t.Fatalf("after the restart: %+v", d)
		}
	})
}
