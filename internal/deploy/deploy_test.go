package deploy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ecode/internal/client"
	"ecode/internal/config"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

type release struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Reason string `json:"reason"`
}

type deployment struct {
	URL             string    `json:"url"`
	Kind            string    `json:"kind"`
	Status          string    `json:"status"`
	ActiveReleaseID string    `json:"active_release_id"`
	Releases        []release `json:"releases"`
}

type published struct {
	Release release `json:"release"`
	URL     string  `json:"url"`
}

// env is a test server with a signed-in user and a client of the apps
// origin that carries no session.
type env struct {
	t   *testing.T
	srv *testutil.Server
	c   *client.Client
	app *http.Client // dials the server whatever the host name (<slug>.apps.localhost)
}

func newEnv(t *testing.T, st *store.Store) *env {
	return newEnvWith(t, st, func(*config.Config) {})
}

// newEnvOn is an env on srv with no user.
func newEnvOn(t *testing.T, srv *testutil.Server) *env {
	addr := strings.TrimPrefix(srv.URL, "http://")
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}, MaxIdleConnsPerHost: 16}
	t.Cleanup(tr.CloseIdleConnections)
	return &env{t: t, srv: srv, app: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// fetchStatus is fetch that reports a failed request as status 0.
func (e *env) fetchStatus(appURL, path string) (int, string) {
	res, err := e.app.Get(appURL + path)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func (e *env) publish(projectID, kind string) published {
	e.t.Helper()
	e.srv.Clock.Advance(time.Second) // releases are listed newest first
	var p published
	body := fmt.Sprintf(`{"kind":%q}`, kind)
	if err := e.c.Do(context.Background(), "POST", "/api/projects/"+projectID+"/deployment/publish", strings.NewReader(body), "application/json", &p); err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) get(projectID string) deployment {
	e.t.Helper()
	var d deployment
	if err := e.c.Do(context.Background(), "GET", "/api/projects/"+projectID+"/deployment", nil, "", &d); err != nil {
		e.t.Fatal(err)
	}
	return d
}

// waitRelease waits, on the service's change notifications, until the
// release's status is one of want.
func (e *env) waitRelease(projectID, id string, want ...string) release {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		changed := e.srv.Deploy.Changed()
		for _, r := range e.get(projectID).Releases {
			if r.ID == id {
				for _, w := range want {
					if r.Status == w {
						return r
					}
				}
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			e.t.Fatalf("release %s never reached %v: %+v", id, want, e.get(projectID))
		}
	}
}

// fetch gets path from the app's URL with no session.
func (e *env) fetch(appURL, path string) (int, string) {
	e.t.Helper()
	res, err := e.app.Get(appURL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// load sends requests to appURL from a goroutine until stopped; it counts
// failures (errors and non-200 answers) and the last body seen.
type load struct {
	failed, ok atomic.Int64
	last       atomic.Value
	firstErr   atomic.Value
	stop       chan struct{}
	done       sync.WaitGroup
}

func (e *env) startLoad(appURL string) *load {
	l := &load{stop: make(chan struct{})}
	l.done.Go(func() {
		for {
			select {
			case <-l.stop:
				return
			default:
			}
			res, err := e.app.Get(appURL + "/")
			if err != nil {
				l.failed.Add(1)
				l.firstErr.CompareAndSwap(nil, err.Error())
				continue
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				l.failed.Add(1)
				l.firstErr.CompareAndSwap(nil, fmt.Sprintf("%d %s", res.StatusCode, b))
				continue
			}
			l.ok.Add(1)
			l.last.Store(string(b))
		}
	})
	return l
}

func (l *load) finish(t *testing.T, what string) {
	t.Helper()
	close(l.stop)
	l.done.Wait()
	if n := l.failed.Load(); n > 0 {
		t.Errorf("%s: %d of %d requests failed; first: %v", what, n, n+l.ok.Load(), l.firstErr.Load())
	}
	if l.ok.Load() == 0 {
		t.Errorf("%s: the load generator got no answer", what)
	}
}

// TestPublishServer: the Node template published as a server answers at its
// URL without a session; a second release goes live with zero failed
// requests under load, and so does rolling back; a build that fails and an
// app that never listens leave the live release serving, with the reason.
func TestPublishServer(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		p, err := e.c.CreateProject(ctx, "Hello Node", "node")
		if err != nil {
			t.Fatal(err)
		}
		first := e.publish(p.ID, "server")
		if !strings.Contains(first.URL, ".apps.localhost:") || first.Release.Status != "building" {
			t.Fatalf("publish answered %+v", first)
		}
		if r := e.waitRelease(p.ID, first.Release.ID, "live", "failed"); r.Status != "live" {
			t.Fatalf("first release: %+v", r)
		}
		if code, body := e.fetch(first.URL, "/"); code != 200 || !strings.Contains(body, "Hello from Node.js") {
			t.Fatalf("app answered %d %q", code, body)
		}
		// The apps origin never sees E-Code's cookies.
		req, _ := http.NewRequest("GET", first.URL+"/", nil)
		req.AddCookie(&http.Cookie{Name: "ecode_session", Value: "x"})
		if res, err := e.app.Do(req); err != nil || res.StatusCode != 200 {
			t.Fatalf("with a cookie: %v %v", res, err)
		}

		// Second release under load: no request fails across the switch.
		src, _ := e.c.ReadFile(ctx, p.ID, "index.js")
		v2 := strings.Replace(string(src), "Hello from Node.js", "Hello again v2", 1)
		if err := e.c.WriteFile(ctx, p.ID, "index.js", []byte(v2)); err != nil {
			t.Fatal(err)
		}
		l := e.startLoad(first.URL)
		raw := e.srv.Deploy.RawServed()
		second := e.publish(p.ID, "")
		if r := e.waitRelease(p.ID, second.Release.ID, "live", "failed"); r.Status != "live" {
			t.Fatalf("second release: %+v", r)
		}
		if _, body := e.fetch(first.URL, "/"); !strings.Contains(body, "Hello again v2") {
			t.Fatalf("after the second release the app says %q", body)
		}
		l.finish(t, "switch to the second release")
		if e.srv.Deploy.RawServed() == raw { // the load's GETs took the raw path (rawlisten.go)
			t.Fatal("no request of the load went through the raw path")
		}
		d := e.get(p.ID)
		if d.ActiveReleaseID != second.Release.ID || d.Status != "live" || len(d.Releases) != 2 || d.Releases[1].Status != "ready" {
			t.Fatalf("deployment after the second release: %+v", d)
		}

		// Rollback under load.
		l = e.startLoad(first.URL)
		var act struct{ Release release }
		if err := e.c.Do(ctx, "POST", "/api/projects/"+p.ID+"/deployment/releases/"+first.Release.ID+"/activate", nil, "", &act); err != nil {
			t.Fatal(err)
		}
		if _, body := e.fetch(first.URL, "/"); !strings.Contains(body, "Hello from Node.js") {
			t.Fatalf("after rollback the app says %q", body)
		}
		l.finish(t, "rollback")

		// A failing build: the live release keeps serving; the reason is shown.
		e.c.WriteFile(ctx, p.ID, ".ecode.toml", []byte("run = \"npm start\"\nbuild = \"echo compile error here >&2; exit 3\"\nport = 3000\n"))
		bad := e.publish(p.ID, "")
		r := e.waitRelease(p.ID, bad.Release.ID, "failed", "live")
		if r.Status != "failed" || !strings.Contains(r.Reason, "compile error here") || !strings.Contains(r.Reason, "exit code 3") {
			t.Fatalf("failed build: %+v", r)
		}
		if code, body := e.fetch(first.URL, "/"); code != 200 || !strings.Contains(body, "Hello from Node.js") {
			t.Fatalf("after a failed build the app answered %d %q", code, body)
		}
		logRes, err := e.c.Raw(ctx, "GET", "/api/projects/"+p.ID+"/deployment/releases/"+bad.Release.ID+"/log", nil, "")
		if err != nil {
			t.Fatal(err)
		}
		logText, _ := io.ReadAll(logRes.Body)
		logRes.Body.Close()
		if !strings.Contains(string(logText), "compile error here") {
			t.Fatalf("build log: %q", logText)
		}

		// An app that never listens.
		e.c.WriteFile(ctx, p.ID, ".ecode.toml", []byte("run = \"sleep 600\"\nport = 3000\n"))
		deaf := e.publish(p.ID, "")
		r = e.waitRelease(p.ID, deaf.Release.ID, "failed", "live")
		if r.Status != "failed" || !strings.Contains(r.Reason, "did not listen on port 3000") {
			t.Fatalf("deaf release: %+v", r)
		}
		if code, body := e.fetch(first.URL, "/"); code != 200 || !strings.Contains(body, "Hello from Node.js") {
			t.Fatalf("after a release that never listened the app answered %d %q", code, body)
		}
		if d := e.get(p.ID); d.ActiveReleaseID != first.Release.ID {
			t.Fatalf("active release %s, want the first", d.ActiveReleaseID)
		}
		// A failed release cannot be activated.
		err = e.c.Do(ctx, "POST", "/api/projects/"+p.ID+"/deployment/releases/"+bad.Release.ID+"/activate", nil, "", nil)
		if err == nil || !strings.Contains(err.Error(), "409") {
			t.Fatalf("activating a failed release: %v", err)
		}
	})
}

// TestPublishStatic: the static template published as static files answers
// without a session, hides dot files, and an unknown slug is a 404.
func TestPublishStatic(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		p, err := e.c.CreateProject(context.Background(), "My Site", "static")
		if err != nil {
			t.Fatal(err)
		}
		pub := e.publish(p.ID, "static")
		if r := e.waitRelease(p.ID, pub.Release.ID, "live", "failed"); r.Status != "live" {
			t.Fatalf("static release: %+v", r)
		}
		if code, body := e.fetch(pub.URL, "/"); code != 200 || !strings.Contains(body, "Hello from E-Code") {
			t.Fatalf("site answered %d %q", code, body)
		}
		if code, _ := e.fetch(pub.URL, "/style.css"); code != 200 {
			t.Fatalf("style.css: %d", code)
		}
		if code, _ := e.fetch(pub.URL, "/.ecode.toml"); code != 404 {
			t.Fatalf(".ecode.toml: %d, want 404", code)
		}
		u, _ := url.Parse(pub.URL)
		u.Host = "nosuch-app.apps.localhost:" + u.Port()
		if code, _ := e.fetch(u.String(), "/"); code != 404 {
			t.Fatalf("unknown slug: %d", code)
		}
		var d deployment
		if err := e.c.Do(context.Background(), "GET", "/api/projects/"+p.ID+"/deployment", nil, "", &d); err != nil {
			t.Fatal(err)
		}
		if b, _ := json.Marshal(d); d.Kind != "static" || d.URL != pub.URL {
			t.Fatalf("deployment %s", b)
		}
	})
}
