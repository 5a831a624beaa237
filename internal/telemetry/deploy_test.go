package telemetry_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"testing"

	"ecode/internal/testutil/testdb"
)

// TestAlertRulesAreValid runs promtool (Debian package prometheus) over the
// alert rules in deploy/; in CI a missing promtool fails the test.
func TestAlertRulesAreValid(t *testing.T) {
	promtool := testdb.Command(t, "promtool", "apt-get install prometheus")
	out, err := exec.Command(promtool, "check", "rules", "../../deploy/prometheus/alerts.yml").CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}

// TestDashboardIsGrafanaJSON checks the dashboard parses and every panel
// has a query.
func TestDashboardIsGrafanaJSON(t *testing.T) {
	b, err := os.ReadFile("../../deploy/grafana/ecode-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if d.Title == "" || len(d.Panels) == 0 {
		t.Fatal("dashboard has no title or panels")
	}
	for _, p := range d.Panels {
		if len(p.Targets) == 0 || p.Targets[0].Expr == "" {
			t.Errorf("panel %q has no query", p.Title)
		}
	}
}
