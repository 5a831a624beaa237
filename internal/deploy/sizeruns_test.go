package deploy_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"ecode/internal/config"
	"ecode/internal/deploy"
	"ecode/internal/sandbox"
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
// and fails once the deployment is made small. Their sandboxes are opened
// with the size's CPU too (0.5 vCPU at small; the server's default is 1).
func TestSizeLimitsBuildsAndRuns(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		specs := &specRecorder{limits: map[string]sandbox.Limits{}}
		srv := testutil.NewServer(t, st, testutil.ServerOptions{Config: func(c *config.Config) { c.DeployHealth = 20 * time.Second },
			WrapSandbox: func(r sandbox.Runner) sandbox.Runner { specs.Runner = r; return specs }})
		testutil.RequireSandbox(t, testutil.NewSandbox(t))
		e := newEnvOn(t, srv)
		e.c = srv.User(t, "publisher")
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
		r := publish("small")
		if r.Status != "failed" {
			t.Fatalf("a build needing 600 MiB at small (512 MiB): %+v, want failed", r)
		}
		specs.want(t, "b-"+r.ID, 0.5, 512<<20)
		r = publish("medium")
		if r.Status != "live" {
			t.Fatalf("a build needing 600 MiB at medium (1 GiB): %+v, want live", r)
		}
		specs.want(t, "b-"+r.ID, 1, 1<<30)

		tick, at := e.tick, clockAt
		tick(time.Minute) // 03:05:07
		if r := e.waitRun(p.ID, at("03:05"), deploy.RunSucceeded); !strings.Contains(e.runLog(p.ID, r.ID), "held 600 MiB") {
			t.Fatalf("the run at medium: %+v %q", r, e.runLog(p.ID, r.ID))
		} else {
			specs.want(t, "r-"+r.ID, 1, 1<<30)
		}
		if v, err := e.patch(p.ID, `{"size":"small"}`); err != nil || v.Size.Name != "small" {
			t.Fatalf("make the scheduled deployment small: %+v %v", v, err)
		}
		tick(5 * time.Minute) // 03:10:07
		if r := e.waitRun(p.ID, at("03:10"), deploy.RunFailed); r.ExitCode == nil || *r.ExitCode == 0 {
			t.Fatalf("the run at small: %+v, want failed with an exit code", r)
		} else {
			specs.want(t, "r-"+r.ID, 0.5, 512<<20)
		}
	})
}

// specRecorder is a sandbox runner that records the limits each workspace
// is opened with, by id (the sandbox applies them as cgroup limits:
// TestDeploymentSize reads an instance's).
type specRecorder struct {
	sandbox.Runner
	mu     sync.Mutex
	limits map[string]sandbox.Limits
}

func (r *specRecorder) Workspace(ctx context.Context, id string, spec sandbox.Spec) (sandbox.Workspace, error) {
	r.mu.Lock()
	r.limits[id] = spec.Limits
	r.mu.Unlock()
	return r.Runner.Workspace(ctx, id, spec)
}

// want checks the CPU and memory workspace id was opened with.
func (r *specRecorder) want(t *testing.T, id string, cpu float64, mem int64) {
	t.Helper()
	r.mu.Lock()
	l, ok := r.limits[id]
	r.mu.Unlock()
	if !ok || l.CPU != cpu || l.MemoryBytes != mem {
		t.Fatalf("sandbox %s opened with %+v (opened: %v), want %g vCPU, %d bytes", id, l, ok, cpu, mem)
	}
}
