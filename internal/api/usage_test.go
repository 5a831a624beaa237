package api_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"ecode/internal/client"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// Quotas are refused with 402 "quota" where work starts (exec, run, project
// create), usage reads back, and the admin routes change plans and credits.
func TestUsageAndQuotas(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		srv := testutil.NewServer(t, st)
		c := client.New(srv.URL)
		me, err := c.Signup(ctx, "admin@x.test", "correct horse battery", "Admin")
		if err != nil {
			t.Fatal(err)
		}
		p, err := c.CreateProject(ctx, "billed", "")
		if err != nil {
			t.Fatal(err)
		}
		var u struct {
			Meters      []map[string]any    `json:"meters"`
			TotalMicros int64               `json:"total_micros"`
			Plan        struct{ ID string } `json:"plan"`
			LeftMicros  int64               `json:"left_micros"`
		}
		if err := c.Do(ctx, "GET", "/api/usage?month=2026-01", nil, "", &u); err != nil || u.Plan.ID != "free" || u.LeftMicros <= 0 {
			t.Fatalf("usage = %+v (%v)", u, err)
		}
		var ce *client.Error
		if err := c.Do(ctx, "GET", "/api/usage?month=2026-13", nil, "", nil); !errors.As(err, &ce) || ce.Status != 400 {
			t.Fatalf("bad month: %v", err)
		}
		put := func(path, body string) error {
			return c.Do(ctx, "PUT", path, strings.NewReader(body), "application/json", nil)
		}
		if err := put("/api/admin/billing/plans/none", `{"name":"None","included_micros":0,"max_projects":1}`); err != nil {
			t.Fatal(err)
		}
		if err := put("/api/admin/billing/accounts/"+me.ID+"/plan", `{"plan":"none"}`); err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{"/api/projects/" + p.ID + "/exec", "/api/projects/" + p.ID + "/run"} {
			err := c.Do(ctx, "POST", path, strings.NewReader(`{"command":"true"}`), "application/json", nil)
			if !errors.As(err, &ce) || ce.Status != 402 || ce.Code != "quota" || ce.Fields["limit"] != "quota_credits" {
				t.Fatalf("%s without credits: %v", path, err)
			}
		}
		if _, err := c.CreateProject(ctx, "second", ""); !errors.As(err, &ce) || ce.Status != 402 || ce.Fields["limit"] != "quota_projects" {
			t.Fatalf("a second project on a one-project plan: %v", err)
		}
		if err := c.Do(ctx, "POST", "/api/admin/billing/accounts/"+me.ID+"/credits", strings.NewReader(`{"amount_micros":1000000,"reason":"test"}`),
			"application/json", nil); err != nil {
			t.Fatal(err)
		}
		err = c.Do(ctx, "POST", "/api/projects/"+p.ID+"/exec", strings.NewReader(`{"command":"true"}`), "application/json", nil)
		if errors.As(err, &ce) && ce.Code == "quota" {
			t.Fatalf("exec still refused after a grant: %v", err)
		}
		if err := put("/api/admin/billing/price-book", `{"cap_factor":0}`); !errors.As(err, &ce) || ce.Status != 400 {
			t.Fatalf("an invalid price book was accepted: %v", err)
		}
	})
}
