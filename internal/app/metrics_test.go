package app_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"ecode/internal/config"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// TestDeployFilesUseServedMetrics scrapes /metrics of a real server after a
// project was created (so requests, jobs and sandboxes moved) and checks
// that every ecode_ metric the Grafana dashboard and the alert rules in
// deploy/ query is served.
func TestDeployFilesUseServedMetrics(t *testing.T) {
	srv := testutil.NewServer(t, testutil.NewStore(t, store.SQLite), testutil.ServerOptions{
		Config: func(cfg *config.Config) { cfg.MetricsToken = "scrape" }})
	c := srv.User(t, "admin")
	ctx := context.Background()
	if _, err := c.CreateProject(ctx, "metrics", "static"); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer scrape")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, body)
	}
	served := string(body)
	for _, f := range []string{"../../deploy/grafana/ecode-dashboard.json", "../../deploy/prometheus/alerts.yml"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range regexp.MustCompile(`ecode_[a-z_]+`).FindAllString(string(b), -1) {
			base := name
			for _, suffix := range []string{"_bucket", "_count", "_sum"} { // a histogram's series
				if b, ok := strings.CutSuffix(name, suffix); ok && strings.Contains(served, "# TYPE "+b+" histogram") {
					base = b
				}
			}
			if !strings.Contains(served, "# TYPE "+base+" ") {
				t.Errorf("%s queries %s, which /metrics does not serve", f, name)
			}
		}
	}
}
