package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"ecode/internal/app"
	"ecode/internal/billing"
	"ecode/internal/client"
	"ecode/internal/deploy"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// cgroupApp answers its id at / and its process's cgroups at /cgroup.
const cgroupApp = `import http from "node:http";
import fs from "node:fs";
const id = Math.random().toString(36).slice(2);
http.createServer((req, res) => {
  res.end(req.url === "/cgroup" ? fs.readFileSync("/proc/self/cgroup", "utf8") : id);
}).listen(Number(process.env.PORT), "127.0.0.1");
`

// TestDeploymentSize: a deployment published at a size runs its instance
// in a sandbox whose cgroup has the size's memory and CPU (read on the
// host from the cgroup the app itself says it is in); changing the size
// on the live deployment replaces the instance under load with no failed
// request; unknown sizes, sizes over the server's sandboxes and sizes over
// the owner's plan are refused naming the field; an instance-second is
// metered times the size's weight.
func TestDeploymentSize(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		id, pub := e.publishLive("Sized", "server", `{"kind":"server","size":"small"}`, map[string]string{"index.js": cgroupApp})
		v := e.getSettings(id)
		if v.Size.Name != "small" || v.Size.MemoryBytes != 512<<20 || v.Size.CPU != 0.5 {
			t.Fatalf("published small, the deployment shows %+v", v.Size)
		}
		e.wantCgroup(pub.URL, 512<<20, 0.5)

		e.srv.Clock.Advance(time.Hour) // an hour of a small instance: half a standard hour
		e.srv.Deploy.FlushUsage(context.Background())
		half := billing.DefaultPriceBook().DeployHourMicros / 2
		if d := meterLine(t, e, billing.MeterDeploy); d.Quantity < 1800 || d.Quantity >= 1900 || d.AmountMicros < half || d.AmountMicros > half*19/18 {
			t.Fatalf("an hour of a small instance metered %+v, want 1800 standard instance-seconds at half the hour's price", d)
		}

		_, first := e.fetch(pub.URL, "/")
		l := e.startLoad(pub.URL)
		v, err := e.patch(id, `{"size":"medium"}`)
		if err != nil || v.Size.Name != "medium" {
			t.Fatalf("resize to medium: %+v %v", v, err)
		}
		e.waitSettings(id, "resized to medium", func(v settingsView) bool { return !v.Resizing && v.Instances == 1 })
		l.finish(t, "resize small→medium")
		if _, now := e.fetch(pub.URL, "/"); now == first {
			t.Fatalf("after the resize the same instance %q serves", now)
		}
		e.wantCgroup(pub.URL, 1<<30, 1)
		e.srv.Clock.Advance(time.Hour)
		e.srv.Deploy.FlushUsage(context.Background())
		if d := meterLine(t, e, billing.MeterDeploy); d.Quantity < 1800+3600 {
			t.Fatalf("after another hour of a medium instance: %+v, want at least 5400", d)
		}

		_, err = e.patch(id, `{"size":"huge"}`)
		wantFieldError(t, err, "size", "must be default, small, medium or large")
		_, err = e.patch(id, `{"size":"large"}`) // 2 GiB; the test server's sandboxes get 1 GiB
		wantFieldError(t, err, "size", "bigger than this server's sandboxes")

		ctx := context.Background()
		var me struct{ ID string }
		if err := e.c.Do(ctx, "GET", "/api/me", nil, "", &me); err != nil {
			t.Fatal(err)
		}
		tiny := billing.Plan{ID: "tiny", Name: "Tiny", IncludedMicros: 10_000_000, SandboxMemoryMiB: 512}
		if err := e.srv.Billing.PutPlan(ctx, tiny); err != nil {
			t.Fatal(err)
		}
		if err := e.srv.Billing.AssignPlan(ctx, me.ID, "tiny"); err != nil {
			t.Fatal(err)
		}
		_, err = e.patch(id, `{"size":"medium"}`)
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != 402 || !strings.Contains(ce.Fields["size"], "plan allows 512 MiB") {
			t.Fatalf("medium on a 512 MiB plan: %v, want 402 naming size", err)
		}
		if v := e.getSettings(id); v.Size.Name != "medium" {
			t.Fatalf("a refused size changed the deployment: %+v", v.Size)
		}
		tok, err := e.c.CreateToken(ctx, "cli")
		if err != nil {
			t.Fatal(err)
		}
		getenv := func(k string) string {
			return map[string]string{"ECODE_SERVER": e.srv.URL, "ECODE_TOKEN": tok.Token}[k]
		}
		var out bytes.Buffer
		if err := app.Main(ctx, []string{"deploy", "size", id, "default"}, getenv, &out, &out); err != nil ||
			out.String() != "size default: 1 vCPU, 1024 MiB per instance\n" {
			t.Fatalf("ecode deploy size %s default: %v %q", id, err, out.String())
		}
		out.Reset()
		if err := app.Main(ctx, []string{"deploy", "size", id}, getenv, &out, &out); err != nil ||
			!strings.Contains(out.String(), "* default") || !strings.Contains(out.String(), "medium   1 vCPU  1024 MiB  (this size is bigger than your plan") {
			t.Fatalf("ecode deploy size %s: %v\n%s", id, err, out.String())
		}
		e.wantCgroup(pub.URL, 1<<30, 1)
	})
}

// wantCgroup checks the memory and CPU limits of the cgroup the app at
// appURL runs in.
func (e *env) wantCgroup(appURL string, mem int64, cpu float64) {
	e.t.Helper()
	code, body := e.fetch(appURL, "/cgroup")
	if code != 200 {
		e.t.Fatalf("GET /cgroup: %d %s", code, body)
	}
	gotMem, gotCPU := cgroupLimits(e.t, body)
	if gotMem != mem || gotCPU != cpu {
		e.t.Fatalf("the instance's cgroup has memory %d, cpu %g; want %d, %g (%s)", gotMem, gotCPU, mem, cpu, body)
	}
}

// cgroupLimits reads the memory limit and CPU quota of the cgroups in
// procCgroup (a process's /proc/self/cgroup), v2 or v1.
func cgroupLimits(t *testing.T, procCgroup string) (mem int64, cpu float64) {
	t.Helper()
	read := func(path string) string {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	num := func(s string) float64 {
		t.Helper()
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("cgroup value %q: %v", s, err)
		}
		return f
	}
	// The sandbox's cgroup namespace is rooted at the server's cgroup (this
	// process's, or its parent when the server moved into a leaf of it).
	own := cgroupPaths(read("/proc/self/cgroup"))
	at := func(ctrl, path string) string {
		for _, base := range []string{own[ctrl], filepath.Dir(own[ctrl])} {
			if d := filepath.Join("/sys/fs/cgroup", ctrl, base, path); dirExists(d) {
				return d
			}
		}
		t.Fatalf("no cgroup %s of %s under %s", path, ctrl, own[ctrl])
		return ""
	}
	paths := cgroupPaths(procCgroup)
	v1 := map[string]string{} // controller → its hierarchy
	for ctrl := range paths {
		for c := range strings.SplitSeq(ctrl, ",") {
			v1[c] = ctrl
		}
	}
	if memH, ok := v1["memory"]; ok && v1["cpu"] != "" {
		d, cd := at(memH, paths[memH]), at(v1["cpu"], paths[v1["cpu"]])
		quota := num(read(filepath.Join(cd, "cpu.cfs_quota_us")))
		period := num(read(filepath.Join(cd, "cpu.cfs_period_us")))
		return int64(num(read(filepath.Join(d, "memory.limit_in_bytes")))), quota / period
	}
	d := at("", paths[""])
	q := strings.Fields(read(filepath.Join(d, "cpu.max")))
	return int64(num(read(filepath.Join(d, "memory.max")))), num(q[0]) / num(q[1])
}

// cgroupPaths maps the hierarchies of a /proc/<pid>/cgroup ("" for v2) to
// the process's cgroup in each.
func cgroupPaths(procCgroup string) map[string]string {
	m := map[string]string{}
	for line := range strings.Lines(procCgroup) {
		if parts := strings.SplitN(strings.TrimSpace(line), ":", 3); len(parts) == 3 {
			m[parts[1]] = parts[2]
		}
	}
	return m
}

func dirExists(d string) bool {
	fi, err := os.Stat(d)
	return err == nil && fi.IsDir()
}

// bigApp needs about 600 MiB before it listens: more than a small size has.
const bigApp = `import http from "node:http";
const held = Buffer.alloc(600 << 20, 1);
http.createServer((req, res) => res.end("big " + held.length)).listen(Number(process.env.PORT), "127.0.0.1");
`

// TestResizeFailureKeepsServing: a size the app does not start at (it
// runs out of memory) is accepted (202), then fails in the background:
// the old instance keeps serving, the size goes back to what it was and
// the deployment shows why and when (kept in the store: the server
// started again on the same data shows it too); the next change of size
// clears it.
func TestResizeFailureKeepsServing(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		id, pub := e.publishLive("Big", "server", `{"kind":"server","size":"medium"}`, map[string]string{"index.js": bigApp})
		e.srv.Clock.Advance(time.Minute)
		at := e.srv.Clock.Now()
		if v, code := e.patchStatus(id, `{"size":"small"}`); code != 202 || !v.Resizing || v.Size.Name != "small" {
			t.Fatalf("resize to small: %d %+v, want 202 resizing to small", code, v)
		}
		v := e.waitSettings(id, "showed the failed resize", func(v settingsView) bool { return !v.Resizing && v.ResizeError != "" })
		if v.Size.Name != "medium" || v.Instances != 1 || v.Restarting || !strings.Contains(v.ResizeError, "resizing to small") ||
			v.ResizeFailedAt == nil || v.ResizeFailedAt.Before(at) {
			t.Fatalf("after the failed resize: size %+v, %d instances, %q at %v; want medium, 1, why at or after %v",
				v.Size, v.Instances, v.ResizeError, v.ResizeFailedAt, at)
		}
		if code, body := e.fetch(pub.URL, "/"); code != 200 || body != "big 629145600" {
			t.Fatalf("after the failed resize the app answered %d %q", code, body)
		}
		e.srv.Close()
		srv2 := testutil.NewServer(t, st, testutil.ServerOptions{Dir: e.srv.Dir})
		after, err := srv2.Deploy.Get(context.Background(), id)
		if err != nil || after.ResizeError != v.ResizeError || after.ResizeFailedAt == nil || !after.ResizeFailedAt.Equal(*v.ResizeFailedAt) {
			t.Fatalf("after the server restarted the failure shows as %q at %v (%v), want %q at %v",
				after.ResizeError, after.ResizeFailedAt, err, v.ResizeError, v.ResizeFailedAt)
		}
		if _, err := srv2.Deploy.UpdateSettings(context.Background(), id, deploy.Settings{Size: ptr("default")}); err != nil {
			t.Fatal(err)
		}
		if after, err := srv2.Deploy.Get(context.Background(), id); err != nil || after.ResizeError != "" || after.ResizeFailedAt != nil {
			t.Fatalf("a new size left the failure shown: %q %v %v", after.ResizeError, after.ResizeFailedAt, err)
		}
	})
}

func ptr[T any](v T) *T { return &v }

// patchStatus sends PATCH /api/projects/{id}/deployment and returns the
// answer and its status code (2xx expected).
func (e *env) patchStatus(projectID, body string) (settingsView, int) {
	e.t.Helper()
	resp, err := e.c.Raw(context.Background(), "PATCH", "/api/projects/"+projectID+"/deployment", strings.NewReader(body), "application/json")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var v settingsView
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		e.t.Fatal(err)
	}
	return v, resp.StatusCode
}

// heldApp listens at once unless a file "hold" is in its folder: then it
// listens only once a file "go" is there too (the test holds a new
// instance's start with them).
const heldApp = `import http from "node:http";
import fs from "node:fs";
const listen = () => http.createServer((req, res) => res.end("held")).listen(Number(process.env.PORT), "127.0.0.1");
if (!fs.existsSync("hold")) listen();
else { const t = setInterval(() => { if (fs.existsSync("go")) { clearInterval(t); listen(); } }, 20); }
`

// TestResizeAnswersAtOnce: a change of size answers 202 while the new
// instance has not started yet (it is held until the test lets it
// listen, after the answer), showing restarting and resizing, as the
// Deployments pane reads it; a second change meanwhile is refused (409
// resizing); the old instance serves meanwhile; once the new one listens
// the deployment ends at the new size, not resizing.
func TestResizeAnswersAtOnce(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		id, pub := e.publishLive("Held", "server", `{"kind":"server","size":"small"}`, map[string]string{"index.js": heldApp})
		appDir := filepath.Join(e.srv.Dir, "deployments", id, pub.Release.ID, "app")
		if err := os.WriteFile(filepath.Join(appDir, "hold"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		v, code := e.patchStatus(id, `{"size":"medium"}`)
		if code != 202 || !v.Restarting || !v.Resizing || v.Size.Name != "medium" {
			t.Fatalf("resize to medium answered %d %+v, want 202 restarting and resizing to medium", code, v)
		}
		if v := e.getSettings(id); !v.Resizing || !v.Restarting {
			t.Fatalf("while the new instance is held the deployment shows %+v, want resizing", v)
		}
		_, err := e.patch(id, `{"size":"default"}`)
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != 409 || ce.Code != "resizing" {
			t.Fatalf("a second resize meanwhile: %v, want 409 resizing", err)
		}
		if code, body := e.fetch(pub.URL, "/"); code != 200 || body != "held" {
			t.Fatalf("during the resize the app answered %d %q", code, body)
		}
		if err := os.WriteFile(filepath.Join(appDir, "go"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		v = e.waitSettings(id, "finished resizing", func(v settingsView) bool { return !v.Resizing })
		if v.Size.Name != "medium" || v.Restarting || v.ResizeError != "" {
			t.Fatalf("after the resize: %+v; want medium, not restarting, no failure", v)
		}
		if code, body := e.fetch(pub.URL, "/"); code != 200 || body != "held" {
			t.Fatalf("after the resize the app answered %d %q", code, body)
		}
	})
}
