package api_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"ecode/internal/client"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

type errorGroup struct {
	ID, Source, Kind, Message, Route, Stack string
	Count                                   int64
	LastRequestID                           string `json:"last_request_id"`
	LastUserID                              string `json:"last_user_id"`
}

// TestPanicIsTrackedWithRequestID: a handler that panics twice makes one
// error group, counted twice, with its stack, the route, the user and the
// request ids the client saw in X-Request-Id; the access log has one line
// per request with the same id, the route, the user and the status.
func TestPanicIsTrackedWithRequestID(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		logs := &testutil.LogBuffer{}
		srv := testutil.NewServer(t, st, testutil.ServerOptions{Logs: logs})
		admin := srv.User(t, "admin")
		bob := srv.User(t, "bob")
		me, err := bob.Me(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := bob.CreateToken(ctx, "t")
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(srv.API.HandlerWithPanic())
		t.Cleanup(hs.Close)

		var ids []string
		for range 2 {
			req, _ := http.NewRequest("GET", hs.URL+"/api/test/panic", nil)
			req.Header.Set("Authorization", "Bearer "+tok.Token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusInternalServerError {
				t.Fatalf("status %d, want 500", resp.StatusCode)
			}
			ids = append(ids, resp.Header.Get("X-Request-Id"))
			srv.Clock.Advance(time.Second)
		}
		if ids[0] == "" || ids[0] == ids[1] {
			t.Fatalf("request ids %q", ids)
		}

		var groups []errorGroup
		if err := admin.Do(ctx, "GET", "/api/admin/errors", nil, "", &groups); err != nil {
			t.Fatal(err)
		}
		var panics []errorGroup
		for _, g := range groups {
			if g.Kind == "panic" {
				panics = append(panics, g)
			}
		}
		if len(panics) != 1 {
			t.Fatalf("want one panic group, got %+v", groups)
		}
		g := panics[0]
		if g.Count != 2 || g.Source != "server" || g.Route != "GET /api/test/panic" || g.LastRequestID != ids[1] || g.LastUserID != me.ID {
			t.Errorf("group %+v", g)
		}
		if !strings.Contains(g.Message, "assignment to entry in nil map") || !strings.Contains(g.Stack, "api.panickingHandler") {
			t.Errorf("message %q, stack:\n%s", g.Message, g.Stack)
		}
		var detail struct {
			Events []struct {
				RequestID string `json:"request_id"`
				UserID    string `json:"user_id"`
			}
		}
		if err := admin.Do(ctx, "GET", "/api/admin/errors/"+g.ID, nil, "", &detail); err != nil {
			t.Fatal(err)
		}
		if len(detail.Events) != 2 || detail.Events[0].RequestID != ids[1] || detail.Events[1].RequestID != ids[0] {
			t.Errorf("events %+v, want request ids %v newest first", detail.Events, ids)
		}

		// Only admins see errors.
		var ce *client.Error
		if err := bob.Do(ctx, "GET", "/api/admin/errors", nil, "", nil); !errors.As(err, &ce) || ce.Status != 403 {
			t.Errorf("non-admin listing errors: %v", err)
		}

		// One access log line per request, with the same id.
		for _, id := range ids {
			var lines []string
			for _, l := range strings.Split(logs.String(), "\n") {
				if strings.Contains(l, "msg=request ") && strings.Contains(l, "request_id="+id) {
					lines = append(lines, l)
				}
			}
			if len(lines) != 1 || !strings.Contains(lines[0], `route="GET /api/test/panic"`) ||
				!strings.Contains(lines[0], "status=500") || !strings.Contains(lines[0], "user_id="+me.ID) {
				t.Errorf("access log lines for %s: %q", id, lines)
			}
		}
		if strings.Contains(logs.String(), tok.Token) {
			t.Error("the bearer token is in the log")
		}
	})
}

// TestBrowserErrorReports: anyone may report a browser error (it shows up
// in the admin's list with the reporter, when signed in); reports are
// rate-limited per address and size-capped; vitals are summarized.
func TestBrowserErrorReports(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		srv := testutil.NewServer(t, st)
		admin := srv.User(t, "admin")
		anon := srv.Client()
		report := func(c *client.Client, body string) error {
			return c.Do(ctx, "POST", "/api/errors/report", strings.NewReader(body), "application/json", nil)
		}
		msg := `{"kind":"error","message":"TypeError: x is undefined (id 1234)","stack":"TypeError\n    at boom (http://h/assets/index-AbCdEf12.js:1:2345)","url":"http://h/p/1","page":"/p/1"}`
		if err := report(anon, msg); err != nil {
			t.Fatal(err)
		}
		// The same fault from another id and build groups together.
		if err := report(admin, strings.NewReplacer("1234", "99", "AbCdEf12", "ZyXw9876", "2345", "77").Replace(msg)); err != nil {
			t.Fatal(err)
		}
		var groups []errorGroup
		if err := admin.Do(ctx, "GET", "/api/admin/errors", nil, "", &groups); err != nil {
			t.Fatal(err)
		}
		if len(groups) != 1 || groups[0].Count != 2 || groups[0].Source != "browser" || groups[0].LastUserID == "" {
			t.Fatalf("groups %+v", groups)
		}
		var ce *client.Error
		if err := report(anon, `{"kind":"nonsense","message":"x"}`); !errors.As(err, &ce) || ce.Status != 400 {
			t.Errorf("bad kind: %v", err)
		}
		big := `{"kind":"error","message":"` + strings.Repeat("x", 40<<10) + `"}`
		if err := report(anon, big); !errors.As(err, &ce) || ce.Status != 413 {
			t.Errorf("oversized report: %v", err)
		}
		if err := anon.Do(ctx, "POST", "/api/vitals", strings.NewReader(`{"page":"/","metrics":[{"name":"LCP","value":1200},{"name":"BOGUS","value":1}]}`), "application/json", nil); err != nil {
			t.Fatal(err)
		}
		var vitals []struct {
			Name    string
			Samples int
			P75     float64
		}
		if err := admin.Do(ctx, "GET", "/api/admin/vitals", nil, "", &vitals); err != nil {
			t.Fatal(err)
		}
		if len(vitals) != 1 || vitals[0].Name != "LCP" || vitals[0].P75 != 1200 {
			t.Errorf("vitals %+v", vitals)
		}
		// The clock stands still: the burst (10) runs out.
		limited := false
		for range 12 {
			if err := report(anon, msg); errors.As(err, &ce) && ce.Status == 429 {
				limited = true
				break
			}
		}
		if !limited {
			t.Error("reports were never rate-limited")
		}
	})
}
