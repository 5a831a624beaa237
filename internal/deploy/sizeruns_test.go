package deploy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"ecode/internal/deploy"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// hungry needs about 600 MiB: more than a small size's 512 MiB, less than
// a medium one's 1 GiB.
const hungry = `const held = Buffer.alloc(600 << 20, 1);
console.log("held " + (held.length >> 20) + " MiB");
`

// TestSizeLimitsBuildsAndRuns: a deployment's build and its scheduled runs
// get the size's memory: a build needing 600 MiB fails at small and
// succeeds at medium; a scheduled run needing as much succeeds at medium
// and fails once the deployment is made small.
func TestSizeLimitsBuildsAndRuns(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		p, err := e.c.CreateProject(ctx, "Hungry", "node")
		if err != nil {
			t.Fatal(err)
		}
		for name, body := range map[string]string{"build.js": hungry, "job.js": hungry,
			".ecode.toml": "build = \"node build.js\"\nrun = \"node job.js\"\n"} {
			if err := e.c.WriteFile(ctx, p.ID, name, []byte(body)); err != nil {
				t.Fatal(err)
			}
		}
		publish := func(size string) release {
			t.Helper()
			e.srv.Clock.Advance(time.Second)
			var pub published
			body := `{"kind":"scheduled","schedule":"*/5 * * * *","size":"` + size + `"}`
			if err := e.c.Do(ctx, "POST", "/api/projects/"+p.ID+"/deployment/publish", strings.NewReader(body), "application/json", &pub); err != nil {
				t.Fatal(err)
			}
			return e.waitRelease(p.ID, pub.Release.ID, "live", "failed")
		}
		if r := publish("small"); r.Status != "failed" {
			t.Fatalf("a build needing 600 MiB at small (512 MiB): %+v, want failed", r)
		}
		if r := publish("medium"); r.Status != "live" {
			t.Fatalf("a build needing 600 MiB at medium (1 GiB): %+v, want live", r)
		}

		tick, at := e.tick, clockAt
		tick(time.Minute) // 03:05:07
		if r := e.waitRun(p.ID, at("03:05"), deploy.RunSucceeded); !strings.Contains(e.runLog(p.ID, r.ID), "held 600 MiB") {
			t.Fatalf("the run at medium: %+v %q", r, e.runLog(p.ID, r.ID))
		}
		if v, err := e.patch(p.ID, `{"size":"small"}`); err != nil || v.Size.Name != "small" {
			t.Fatalf("make the scheduled deployment small: %+v %v", v, err)
		}
		tick(5 * time.Minute) // 03:10:07
		if r := e.waitRun(p.ID, at("03:10"), deploy.RunFailed); r.ExitCode == nil || *r.ExitCode == 0 {
			t.Fatalf("the run at small: %+v, want failed with an exit code", r)
		}
	})
}
