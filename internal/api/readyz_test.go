package api_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"ecode/internal/store"
	"ecode/internal/testutil"
)

// TestReadyzDetailOnlyForAdmins: anonymous callers learn which component
// failed, not the error (which names database users and hosts); admins and
// the metrics token see it.
func TestReadyzDetailOnlyForAdmins(t *testing.T) {
	const secret = `connect to user=ecode_admin database=prod_db host=10.0.0.5 failed`
	srv := testutil.NewServer(t, testutil.NewStore(t, store.SQLite), testutil.ServerOptions{
		Options: apiOptions(func(o *apiOpts) {
			o.MetricsToken = "scrape-token-123"
			o.ReadyChecks = map[string]func(context.Context) error{
				"database": func(context.Context) error { return errors.New(secret) },
				"sandbox":  func(context.Context) error { return nil },
			}
		})})
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
	admin := srv.User(t, "admin")
	if got := get("", admin.HTTP); !strings.Contains(got, "prod_db") {
		t.Errorf("readyz as admin: %s", got)
	}
	user := srv.User(t, "user")
	if got := get("", user.HTTP); strings.Contains(got, "prod_db") {
		t.Errorf("readyz as a plain user: %s", got)
	}
}
