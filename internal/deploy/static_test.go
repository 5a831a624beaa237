package deploy_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"ecode/internal/config"
	"ecode/internal/deploy"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// TestStaticServing: a static release answers from its file cache as net/http
// would (validators, 304, ranges, HEAD; /index.html without a redirect), a
// file too large to keep in memory arrives whole and its bytes are metered,
// and app hosts, though served before the IDE's middleware, still get a
// request id and one access log line per request, and none of the IDE's
// framing headers.
func TestStaticServing(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		logs := &testutil.LogBuffer{}
		srv := testutil.NewServer(t, st, testutil.ServerOptions{Logs: logs, Config: func(c *config.Config) { c.DeployHealth = 20 * time.Second }})
		testutil.RequireSandbox(t, testutil.NewSandbox(t))
		e := newEnvOn(t, srv)
		e.c = srv.User(t, "publisher")
		e.app.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		p, err := e.c.CreateProject(ctx, "Cached Site", "static")
		if err != nil {
			t.Fatal(err)
		}
		big := bytes.Repeat([]byte("0123456789abcdef"), 40<<10) // 640 KiB: opened per request, not kept
		if err := e.c.WriteFile(ctx, p.ID, "big.bin", big); err != nil {
			t.Fatal(err)
		}
		pub := e.publish(p.ID, "static")
		if r := e.waitRelease(p.ID, pub.Release.ID, "live", "failed"); r.Status != "live" {
			t.Fatalf("static release: %+v", r)
		}
		do := func(method, path string, hdr ...string) (*http.Response, []byte) {
			t.Helper()
			req, _ := http.NewRequestWithContext(ctx, method, pub.URL+path, nil)
			for i := 0; i+1 < len(hdr); i += 2 {
				req.Header.Set(hdr[i], hdr[i+1])
			}
			res, err := e.app.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res, b
		}
		var index []byte
		for range 3 { // the first request fills the cache, the others read it
			res, body := do("GET", "/index.html")
			if res.StatusCode != 200 || !strings.Contains(string(body), "Hello from E-Code") {
				t.Fatalf("/index.html: %d %q", res.StatusCode, body)
			}
			if res.Header.Get("X-Request-Id") == "" || res.Header.Get("X-Frame-Options") != "" {
				t.Fatalf("/index.html headers: %v", res.Header)
			}
			if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || res.Header.Get("Last-Modified") == "" {
				t.Fatalf("/index.html headers: %v", res.Header)
			}
			index = body
		}
		res, body := do("GET", "/")
		if res.StatusCode != 200 || !bytes.Equal(body, index) {
			t.Fatalf("/: %d, same as /index.html: %v", res.StatusCode, bytes.Equal(body, index))
		}
		etag := res.Header.Get("Etag")
		if res, _ := do("GET", "/", "If-None-Match", etag); etag == "" || res.StatusCode != http.StatusNotModified {
			t.Fatalf("If-None-Match %q: %d", etag, res.StatusCode)
		}
		if res, body := do("HEAD", "/index.html"); res.StatusCode != 200 || len(body) != 0 || res.ContentLength != int64(len(index)) {
			t.Fatalf("HEAD: %d, %d bytes, length %d", res.StatusCode, len(body), res.ContentLength)
		}
		if res, body := do("GET", "/big.bin", "Range", "bytes=16-31"); res.StatusCode != http.StatusPartialContent || string(body) != "0123456789abcdef" {
			t.Fatalf("range: %d %q", res.StatusCode, body)
		}
		for range 2 {
			if res, body := do("GET", "/big.bin"); res.StatusCode != 200 || !bytes.Equal(body, big) {
				t.Fatalf("big.bin: %d, %d bytes of %d", res.StatusCode, len(body), len(big))
			}
		}
		if res, _ := do("GET", "/.ecode.toml"); res.StatusCode != 404 {
			t.Fatalf(".ecode.toml: %d", res.StatusCode)
		}

		var c deploy.Counts
		if err := e.c.Do(ctx, "GET", "/api/projects/"+p.ID+"/deployment/metrics", nil, "", &c); err != nil {
			t.Fatal(err)
		}
		const requests = 3 + 1 + 1 + 1 + 1 + 2 + 1
		if c.Requests != requests || c.Bytes < int64(2*len(big)+4*len(index)) {
			t.Fatalf("deployment metrics after %d requests (two of %d bytes): %+v", requests, len(big), c)
		}
		// One access log line per request to the app's host.
		logged := 0
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, " msg=request ") && strings.Contains(line, " path=/") && !strings.Contains(line, " path=/api/") {
				logged++
			}
		}
		if logged < requests {
			t.Fatalf("%d access log lines for the app's %d requests:\n%s", logged, requests, logs.String())
		}
	})
}
