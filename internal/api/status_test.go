package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"ecode/internal/store"
	"ecode/internal/testutil"
)

type statusReport struct {
	Status     string
	Components []struct{ Name, Status, Detail string }
	Incidents  []struct {
		ID, Title, Body string
		ResolvedAt      *time.Time `json:"resolved_at"`
	}
}

func getStatus(t *testing.T, url string) statusReport {
	t.Helper()
	resp, err := http.Get(url + "/status.json") // signed out
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status.json: %d", resp.StatusCode)
	}
	var r statusReport
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestStatusPage: anyone signed out reads each component's health; an
// incident an admin posts shows (the status is degraded) until resolved.
func TestStatusPage(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		srv := testutil.NewServer(t, st)
		admin := srv.User(t, "admin")
		r := getStatus(t, srv.URL)
		comps := map[string]string{}
		for _, c := range r.Components {
			comps[c.Name] = c.Status
			if c.Detail != "" {
				t.Errorf("signed-out callers see detail: %+v", c)
			}
		}
		if comps["database"] != "ok" || comps["data_disk"] == "" || comps["sandbox"] == "" {
			t.Errorf("components %+v", r.Components)
		}
		var in struct{ ID string }
		err := admin.Do(ctx, "POST", "/api/admin/incidents", strings.NewReader(`{"title":"Slow previews","body":"We are looking into it."}`), "application/json", &in)
		if err != nil {
			t.Fatal(err)
		}
		r = getStatus(t, srv.URL)
		if r.Status != "degraded" || len(r.Incidents) != 1 || r.Incidents[0].Title != "Slow previews" || r.Incidents[0].ResolvedAt != nil {
			t.Fatalf("after posting: %+v", r)
		}
		if err := admin.Do(ctx, "POST", "/api/admin/incidents/"+in.ID+"/resolve", nil, "", nil); err != nil {
			t.Fatal(err)
		}
		r = getStatus(t, srv.URL)
		if len(r.Incidents) != 1 || r.Incidents[0].ResolvedAt == nil {
			t.Fatalf("after resolving: %+v", r)
		}
		if err := admin.Do(ctx, "POST", "/api/admin/incidents/"+in.ID+"/resolve", nil, "", nil); err == nil {
			t.Error("resolving twice succeeded")
		}
	})
}
