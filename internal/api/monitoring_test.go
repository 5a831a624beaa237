package api_test

import (
	"context"
	"testing"
	"time"

	"ecode/internal/monitor"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// TestAdminMonitoring: the requests served before a sample appear in the
// series an admin reads, with the active users and the data disk; an
// unknown range is refused.
func TestAdminMonitoring(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		srv := testutil.NewServer(t, st)
		admin := srv.User(t, "admin")
		ctx := context.Background()
		var empty monitor.Series
		if err := call(admin, "GET", "/api/admin/monitoring", nil, &empty); err != nil {
			t.Fatal(err)
		}
		if empty.Range != "1h" || len(empty.Points) != 0 || empty.StepSeconds != 60 {
			t.Fatalf("before any sample: %+v; want 1h, no points, 60 s steps", empty)
		}
		for range 5 {
			if err := call(admin, "GET", "/api/projects", nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		srv.Clock.Advance(time.Minute)
		if err := srv.Monitor.Sample(ctx); err != nil {
			t.Fatal(err)
		}
		var s monitor.Series
		if err := call(admin, "GET", "/api/admin/monitoring?range=24h", nil, &s); err != nil {
			t.Fatal(err)
		}
		if s.Range != "24h" || s.StepSeconds != 720 || len(s.Points) != 1 {
			t.Fatalf("series = %+v; want 24h in 12 min steps with one point", s)
		}
		p := s.Points[0]
		// signup, the empty read, five reads: at least 7 requests.
		if p.Requests < 7 || p.Errors5xx != 0 || p.P95Ms <= 0 || p.UsersActive != 1 || p.DiskTotalBytes <= 0 || p.DiskFreeBytes <= 0 {
			t.Errorf("point = %+v; want ≥7 requests, no errors, a latency, 1 active user, the disk", p)
		}
		wantError(t, call(admin, "GET", "/api/admin/monitoring?range=2h", nil, nil), 400, "invalid")
	})
}
