package deploy_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"ecode/internal/client"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// TestReleaseDataSnapshot: each publish keeps the production database as
// it was then; a rollback leaves the data alone unless asked to restore the
// release's snapshot; a release published before there was any data has
// no snapshot to restore.
func TestReleaseDataSnapshot(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		p, err := e.c.CreateProject(ctx, "snapshots", "python")
		if err != nil {
			t.Fatal(err)
		}
		for n, body := range map[string]string{"app.py": dbApp, ".ecode.toml": "run = \"python3 app.py\"\n"} {
			if err := e.c.WriteFile(ctx, p.ID, n, []byte(body)); err != nil {
				t.Fatal(err)
			}
		}
		var res struct {
			ExitCode int `json:"exit_code"`
		}
		if err := e.c.Do(ctx, "POST", "/api/projects/"+p.ID+"/exec", strings.NewReader(seedDev), "application/json", &res); err != nil || res.ExitCode != 0 {
			t.Fatalf("seed the development database: %+v %v", res, err)
		}
		publish := func(body string) published {
			t.Helper()
			e.srv.Clock.Advance(1e9)
			var pub published
			if err := e.c.Do(ctx, "POST", "/api/projects/"+p.ID+"/deployment/publish", strings.NewReader(body), "application/json", &pub); err != nil {
				t.Fatal(err)
			}
			if r := e.waitRelease(p.ID, pub.Release.ID, "live", "failed"); r.Status != "live" {
				t.Fatalf("release: %+v", r)
			}
			return pub
		}
		get := func(url, want string) {
			t.Helper()
			if code, body := e.fetch(url, "/"); code != 200 || body != want {
				t.Fatalf("app answered %d %q, want %q", code, body, want)
			}
		}
		activate := func(rid, body string) error {
			return e.c.Do(ctx, "POST", "/api/projects/"+p.ID+"/deployment/releases/"+rid+"/activate", strings.NewReader(body), "application/json", nil)
		}

		first := publish(`{"kind":"server","database":"copy"}`) // snapshot: the seed, no visits
		get(first.URL, "seed=from-dev visits=1")
		get(first.URL, "seed=from-dev visits=2")
		second := publish(`{}`) // snapshot: two visits
		get(first.URL, "seed=from-dev visits=3")
		if err := activate(first.Release.ID, `{}`); err != nil {
			t.Fatal(err)
		}
		get(first.URL, "seed=from-dev visits=4") // code rolled back, data kept
		if err := activate(second.Release.ID, `{"restore_data":true}`); err != nil {
			t.Fatal(err)
		}
		get(first.URL, "seed=from-dev visits=3") // the two visits of the snapshot, and this one
		if err := activate(first.Release.ID, `{"restore_data":true}`); err != nil {
			t.Fatal(err)
		}
		get(first.URL, "seed=from-dev visits=1")
		var d struct {
			Releases []struct {
				ID           string `json:"id"`
				DataSnapshot bool   `json:"data_snapshot"`
			} `json:"releases"`
		}
		if err := e.c.Do(ctx, "GET", "/api/projects/"+p.ID+"/deployment", nil, "", &d); err != nil || len(d.Releases) != 2 || !d.Releases[0].DataSnapshot || !d.Releases[1].DataSnapshot {
			t.Fatalf("releases: %+v %v", d.Releases, err)
		}

		q, err := e.c.CreateProject(ctx, "no data", "python")
		if err != nil {
			t.Fatal(err)
		}
		for n, body := range map[string]string{"app.py": dbApp, ".ecode.toml": "run = \"python3 app.py\"\n"} {
			if err := e.c.WriteFile(ctx, q.ID, n, []byte(body)); err != nil {
				t.Fatal(err)
			}
		}
		e.srv.Clock.Advance(1e9)
		var pub published
		if err := e.c.Do(ctx, "POST", "/api/projects/"+q.ID+"/deployment/publish", strings.NewReader(`{"kind":"server"}`), "application/json", &pub); err != nil {
			t.Fatal(err)
		}
		if r := e.waitRelease(q.ID, pub.Release.ID, "live", "failed"); r.Status != "live" {
			t.Fatalf("release: %+v", r)
		}
		err = e.c.Do(ctx, "POST", "/api/projects/"+q.ID+"/deployment/releases/"+pub.Release.ID+"/activate", strings.NewReader(`{"restore_data":true}`), "application/json", nil)
		var ae *client.Error
		if !errors.As(err, &ae) || ae.Status != http.StatusConflict || ae.Code != "no_data_snapshot" {
			t.Fatalf("restoring a release without a snapshot: %v", err)
		}
	})
}
