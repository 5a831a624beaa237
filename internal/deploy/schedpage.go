package deploy

import (
	"html"
	"net/http"
	"strings"
	"time"
)

func (d *deployment) isScheduled() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.scheduled
}

// scheduledPage answers a scheduled deployment's host: it serves no
// requests, so the page says it is a scheduled job, its schedule, its last
// run's time and outcome and its next due time (never its command, its
// output or its secrets).
func (s *Service) scheduledPage(w http.ResponseWriter, r *http.Request, d *deployment) {
	dep, err := s.d.Store.DeploymentForProject(r.Context(), d.projectID)
	if err != nil {
		appPage(w, http.StatusServiceUnavailable, "This app is not running", "Its owner can publish it again from E-Code.")
		return
	}
	rows := [][2]string{{"Schedule", dep.Schedule + " (UTC)"}}
	last := "none yet"
	if runs, err := s.d.Store.ListDeploymentRuns(r.Context(), d.projectID, 1); err == nil && len(runs) > 0 {
		at := runs[0].StartedAt
		if at.IsZero() {
			at = runs[0].ScheduledAt
		}
		last = runs[0].Status + " at " + at.UTC().Format(time.RFC3339)
	}
	rows = append(rows, [2]string{"Last run", last})
	if next := nextRun(dep.Schedule, s.d.Now()); !next.IsZero() {
		rows = append(rows, [2]string{"Next run", next.Format(time.RFC3339)})
	}
	var b strings.Builder
	b.WriteString("<!doctype html><meta charset=utf-8><title>Scheduled job</title>" +
		"<body style=\"font-family:system-ui;margin:4rem auto;max-width:36rem\"><h1>Scheduled job</h1>" +
		"<p>This deployment runs a command on a schedule; it serves no pages.</p><dl>")
	for _, row := range rows {
		b.WriteString("<dt><b>" + html.EscapeString(row[0]) + "</b></dt><dd data-field=\"" +
			strings.ToLower(strings.ReplaceAll(row[0], " ", "_")) + "\">" + html.EscapeString(row[1]) + "</dd>")
	}
	b.WriteString("</dl>")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(b.String()))
}
