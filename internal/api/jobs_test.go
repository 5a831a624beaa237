package api_test

import (
	"context"
	"testing"
	"time"

	"ecode/internal/jobs"
	"ecode/internal/projects"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// TestAdminJobs: an admin sees a queued job in its state, cancels it and
// retries it; unknown jobs and states are refused.
func TestAdminJobs(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		srv := testutil.NewServer(t, st)
		admin := srv.User(t, "admin")
		ctx := context.Background()
		if _, err := srv.Jobs.Enqueue(ctx, projects.DeleteJob{ProjectID: "none"}, &jobs.Opts{At: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		var list struct {
			Counts map[string]int64 `json:"counts"`
			Jobs   []jobs.Job       `json:"jobs"`
		}
		if err := call(admin, "GET", "/api/admin/jobs?state=scheduled", nil, &list); err != nil {
			t.Fatal(err)
		}
		if len(list.Jobs) != 1 || list.Jobs[0].Kind != "project_delete" || list.Counts["scheduled"] != 1 {
			t.Fatalf("scheduled jobs: %+v", list)
		}
		id := list.Jobs[0].ID
		var j jobs.Job
		if err := call(admin, "POST", "/api/admin/jobs/"+id+"/cancel", nil, &j); err != nil || j.State != "cancelled" {
			t.Fatalf("cancel: %+v %v", j, err)
		}
		if err := call(admin, "POST", "/api/admin/jobs/"+id+"/retry", nil, &j); err != nil || j.State != "available" {
			t.Fatalf("retry: %+v %v", j, err)
		}
		wantError(t, call(admin, "POST", "/api/admin/jobs/999999/retry", nil, nil), 404, "not_found")
		wantError(t, call(admin, "GET", "/api/admin/jobs?state=bogus", nil, nil), 400, "invalid")
	})
}
