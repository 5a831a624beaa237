package deploy_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ecode/internal/config"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// echoApp answers a request with the length and the start of its body.
const echoApp = `import http from "node:http";
http.createServer((req, res) => {
  const parts = [];
  req.on("data", (c) => parts.push(c));
  req.on("end", () => { const b = Buffer.concat(parts).toString(); res.end("got " + b.length + ": " + b.slice(0, 12)); });
}).listen(Number(process.env.PORT), "127.0.0.1");
`

// newEnvWith is newEnv with the server's configuration changed by conf.
func newEnvWith(t *testing.T, st *store.Store, conf func(c *config.Config)) *env {
	srv := testutil.NewServer(t, st, testutil.ServerOptions{Config: func(c *config.Config) {
		c.DeployHealth = 20 * time.Second
		conf(c)
	}})
	testutil.RequireSandbox(t, testutil.NewSandbox(t))
	e := newEnvOn(t, srv)
	e.c = srv.User(t, "publisher")
	return e
}

// post sends body to the app's URL; chunked sends it without a
// Content-Length (read by the router up to its cap).
func (e *env) post(appURL, body string, chunked bool) (int, string) {
	e.t.Helper()
	var r io.Reader = strings.NewReader(body)
	if chunked {
		r = io.MultiReader(r) // not a known length: sent chunked
	}
	res, err := e.app.Post(appURL+"/", "text/plain", r)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestRetryRequestBody: a POST with a small body (known length or
// chunked) that meets the crashed instance is sent again once the app is
// back, body and all; a body over the cap is not kept, so that request is
// answered 502 as before.
func TestRetryRequestBody(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnvWith(t, st, func(c *config.Config) { c.DeployRetry = 2 * time.Minute })
		id, pub := e.publishLive("Echo", "server", `{"kind":"server"}`, map[string]string{"index.js": echoApp})
		if code, body := e.post(pub.URL, "hello", false); code != 200 || body != "got 5: hello" {
			t.Fatalf("before the crash: %d %q", code, body)
		}
		big := "large-body-" + strings.Repeat("x", 70<<10)
		e.srv.Deploy.KillServing(id)
		if code, body := e.post(pub.URL, big, false); code != http.StatusBadGateway {
			t.Fatalf("a %d-byte body after the crash: %d %q, want 502 (not kept, not retried)", len(big), code, body)
		}
		small := "small-body-" + strings.Repeat("y", 60<<10)
		if code, body := e.post(pub.URL, small, false); code != 200 || body != "got 61451: small-body-y" {
			t.Fatalf("a small body after the crash: %d %q", code, body)
		}
		e.srv.Deploy.KillServing(id)
		if code, body := e.post(pub.URL, "chunked-body", true); code != 200 || body != "got 12: chunked-body" {
			t.Fatalf("a small chunked body after the crash: %d %q", code, body)
		}
		e.srv.Deploy.KillServing(id)
		if code, body := e.post(pub.URL, big, true); code != http.StatusBadGateway {
			t.Fatalf("a large chunked body after the crash: %d %q, want 502", code, body)
		}
	})
}

// TestRetryWaitOption: --deploy-retry-wait bounds how long a request
// waits for the crashed instance's restart: with a millisecond the request
// is answered 502 at once. The restart cannot come first, however slow the
// machine: the app's restarts are held (heldApp's "hold" file) and never
// listen. A request still waiting after half the default wait (10 s) means
// the option was ignored (the default waits for the restart: TestCrashRace).
func TestRetryWaitOption(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnvWith(t, st, func(c *config.Config) { c.DeployRetry = time.Millisecond })
		id, pub := e.publishLive("Impatient", "server", `{"kind":"server"}`, map[string]string{"index.js": heldApp})
		appDir := filepath.Join(e.srv.Dir, "deployments", id, pub.Release.ID, "app")
		if err := os.WriteFile(filepath.Join(appDir, "hold"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		e.srv.Deploy.KillServing(id)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, "GET", pub.URL+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.app.Do(req)
		if err != nil {
			t.Fatalf("with a 1 ms retry wait the request after the crash was not answered within 5 s (the default wait?): %v", err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "did not answer") {
			t.Fatalf("with a 1 ms retry wait the request after the crash answered %d %q, want 502", res.StatusCode, body)
		}
	})
}
