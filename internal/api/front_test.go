package api_test

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"ecode/internal/store"
	"ecode/internal/testutil"
)

// TestFrontHeadersAndAccessLog: every IDE answer (a route, the page, a
// refused host) carries the security headers and a request id of its own,
// and each request has exactly one access log line with that id, its route
// and status; a page on a published app's host gets no IDE headers.
func TestFrontHeadersAndAccessLog(t *testing.T) {
	logs := &testutil.LogBuffer{}
	srv := testutil.NewServer(t, testutil.NewStore(t, store.SQLite), testutil.ServerOptions{Logs: logs})
	ids := map[string]bool{}
	for _, c := range []struct{ path, host, route string }{
		{"/api/server", "localhost", "route=\"GET /api/server\""},
		{"/api/server", "localhost", "route=\"GET /api/server\""},
		{"/", "localhost", "route=/"},
	} {
		req, _ := http.NewRequest("GET", srv.URL+c.path, nil)
		req.Host = c.host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") != "same-origin" {
			t.Errorf("%s: security headers %v", c.path, h)
		}
		id := h.Get("X-Request-Id")
		if len(id) != 16 || ids[id] {
			t.Fatalf("%s: request id %q (seen before: %v)", c.path, id, ids[id])
		}
		ids[id] = true
		var lines []string
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "request_id="+id) && strings.Contains(l, "msg=request ") {
				lines = append(lines, l)
			}
		}
		if len(lines) != 1 || !strings.Contains(lines[0], c.route) || !strings.Contains(lines[0], "status=200") || !strings.Contains(lines[0], "method=GET") {
			t.Errorf("%s: access log lines for %s: %q", c.path, id, lines)
		}
	}
	// An app host nobody published: the router's 404, no IDE headers.
	req, _ := http.NewRequest("GET", srv.URL+"/", nil)
	req.Host = "nobody.apps.localhost"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 || resp.Header.Get("X-Frame-Options") != "" || resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("unpublished app host: %d %v", resp.StatusCode, resp.Header)
	}
}

// TestFileReadAnswers: a small file asked whole is sent from memory with
// its validators; its ETag and Last-Modified then answer 304, a range
// answers 206, and a file past the in-memory size arrives whole.
func TestFileReadAnswers(t *testing.T) {
	ctx := t.Context()
	srv := testutil.NewServer(t, testutil.NewStore(t, store.SQLite))
	c := srv.User(t, "ada")
	p, err := c.CreateProject(ctx, "F", "blank")
	if err != nil {
		t.Fatal(err)
	}
	small, large := strings.Repeat("small file ", 100), strings.Repeat("a larger file ", 10_000)
	for name, body := range map[string]string{"s.txt": small, "l.txt": large} {
		if err := c.WriteFile(ctx, p.ID, name, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	get := func(name string, hdr ...string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/projects/"+p.ID+"/files/"+name, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := c.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := get("s.txt")
	etag, lm := resp.Header.Get("Etag"), resp.Header.Get("Last-Modified")
	if resp.StatusCode != 200 || body != small || resp.ContentLength != int64(len(small)) || etag == "" || lm == "" ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("small file: %d, %d bytes, headers %v", resp.StatusCode, len(body), resp.Header)
	}
	// HEAD takes net/http's path (ServeContent): the same headers.
	req, _ := http.NewRequestWithContext(ctx, "HEAD", srv.URL+"/api/projects/"+p.ID+"/files/s.txt", nil)
	head, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	head.Body.Close()
	for _, k := range []string{"Etag", "Last-Modified", "Content-Length", "Content-Type", "Content-Security-Policy",
		"Cache-Control", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"} {
		if g, h := resp.Header.Values(k), head.Header.Values(k); len(g) != 1 || !slices.Equal(g, h) {
			t.Errorf("%s: GET %q, HEAD %q", k, g, h)
		}
	}
	if resp, _ := get("s.txt", "If-None-Match", etag); resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", resp.StatusCode)
	}
	if resp, _ := get("s.txt", "If-Modified-Since", lm); resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-Modified-Since: %d", resp.StatusCode)
	}
	if resp, body := get("s.txt", "Range", "bytes=0-4"); resp.StatusCode != http.StatusPartialContent || body != "small" {
		t.Errorf("range: %d %q", resp.StatusCode, body)
	}
	if resp, body := get("l.txt"); resp.StatusCode != 200 || body != large {
		t.Errorf("large file: %d, %d bytes of %d", resp.StatusCode, len(body), len(large))
	}
}
