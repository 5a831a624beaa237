package api_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"ecode/internal/api"
	"ecode/internal/auth"
	"ecode/internal/client"
	"ecode/internal/deploy"
	"ecode/internal/domains"
	"ecode/internal/errtrack"
	"ecode/internal/live"
	"ecode/internal/revoke"
	"ecode/internal/store"
	"ecode/internal/telemetry"
	"ecode/internal/testutil"
)

// TestReadyzDetailOnlyForAdmins: anonymous callers learn which component
// failed, not the error (which names database users and hosts); admins and
// the metrics token see it.
func TestReadyzDetailOnlyForAdmins(t *testing.T) {
	const secret = `connect to user=ecode_admin database=prod_db host=10.0.0.5 failed`
	// An API server of its own, whose database check fails with detail.
	st := testutil.NewStore(t, store.SQLite)
	au, err := auth.NewService(st, time.Now, time.Hour, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	a := api.New(api.Deps{Store: st, Auth: au, Metrics: telemetry.New(), Live: live.New(), Revoke: revoke.NewLocal(), Log: slog.New(slog.DiscardHandler), Now: time.Now, Domains: domains.New(domains.Options{}), Deploy: deploy.New(deploy.Deps{}, deploy.Options{AppsDomain: "apps.localhost"}), Errors: errtrack.New(st, time.Now, slog.New(slog.DiscardHandler), errtrack.Options{})}, apiOptions(func(o *apiOpts) {
		o.MetricsToken = "scrape-token-123"
		o.ReadyChecks = map[string]func(context.Context) error{
			"database": func(context.Context) error { return errors.New(secret) },
			"sandbox":  func(context.Context) error { return nil },
		}
	}))
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	get := func(auth string, c *http.Client) string {
		req, _ := http.NewRequest("GET", srv.URL+"/readyz", nil)
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("readyz: %s", resp.Status)
		}
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	anon := get("", http.DefaultClient)
	if strings.Contains(anon, "prod_db") || strings.Contains(anon, "ecode_admin") ||
		!strings.Contains(anon, `"database":"failed"`) || !strings.Contains(anon, `"sandbox":"ok"`) {
		t.Errorf("anonymous readyz: %s", anon)
	}
	if got := get("scrape-token-123", http.DefaultClient); !strings.Contains(got, "prod_db") {
		t.Errorf("readyz with the metrics token: %s", got)
	}
	for i, name := range []string{"admin", "user"} { // the first account is the admin
		c := client.New(srv.URL)
		if _, err := c.Signup(context.Background(), name+"@example.test", "correct horse battery", name); err != nil {
			t.Fatal(err)
		}
		if got := get("", c.HTTP); strings.Contains(got, "prod_db") != (i == 0) {
			t.Errorf("readyz as %s: %s", name, got)
		}
	}
}
