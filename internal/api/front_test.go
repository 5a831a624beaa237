package api_test

import (
	"net/http"
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
	logs := &lockedBuffer{}
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
