package deploy_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ecode/internal/deploy"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

const jobScript = `echo "job ran"
if [ -f hold ]; then while [ ! -f go ]; do sleep 0.05; done; fi
if [ -f fail ]; then echo "failing"; exit 3; fi
`

type runView struct {
	ID          string     `json:"id"`
	ScheduledAt time.Time  `json:"scheduled_at"`
	StartedAt   *time.Time `json:"started_at"`
	EndedAt     *time.Time `json:"ended_at"`
	Status      string     `json:"status"`
	ExitCode    *int       `json:"exit_code"`
	Reason      string     `json:"reason"`
}

// TestScheduled: on the service's (fake) clock a scheduled deployment runs
// its command at each due time in a fresh sandbox, with the run's exit
// code and log recorded; a due time while the previous run goes is
// skipped and recorded; due times passed unseen are reported missed; a
// failing command is recorded failed with its exit code.
func TestScheduled(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		p, err := e.c.CreateProject(ctx, "Cron job", "node")
		if err != nil {
			t.Fatal(err)
		}
		for name, body := range map[string]string{"job.sh": jobScript, ".ecode.toml": "run = \"sh job.sh\"\n"} {
			if err := e.c.WriteFile(ctx, p.ID, name, []byte(body)); err != nil {
				t.Fatal(err)
			}
		}
		var bad struct{}
		err = e.c.Do(ctx, "POST", "/api/projects/"+p.ID+"/deployment/publish", strings.NewReader(`{"kind":"scheduled"}`), "application/json", &bad)
		if err == nil || !strings.Contains(err.Error(), "schedule") {
			t.Fatalf("a scheduled publish without a schedule: %v", err)
		}
		e.srv.Clock.Advance(time.Second)
		var pub published
		err = e.c.Do(ctx, "POST", "/api/projects/"+p.ID+"/deployment/publish", strings.NewReader(`{"kind":"scheduled","schedule":"*/5 * * * *"}`), "application/json", &pub)
		if err != nil {
			t.Fatal(err)
		}
		if r := e.waitRelease(p.ID, pub.Release.ID, "live", "failed"); r.Status != "live" {
			t.Fatalf("release: %+v", r)
		}
		appDir := filepath.Join(e.srv.Dir, "deployments", p.ID, pub.Release.ID, "app")
		touch := func(name string) {
			if err := os.WriteFile(filepath.Join(appDir, name), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		tick, at := e.tick, clockAt

		tick(0) // 03:04:06: nothing due yet
		if runs := e.runs(p.ID); len(runs) != 0 {
			t.Fatalf("runs before the first due time: %+v", runs)
		}
		tick(time.Minute) // 03:05:06
		r := e.waitRun(p.ID, at("03:05"), deploy.RunSucceeded)
		if r.ExitCode == nil || *r.ExitCode != 0 || r.StartedAt == nil || r.EndedAt == nil {
			t.Fatalf("first run: %+v", r)
		}
		if log := e.runLog(p.ID, r.ID); !strings.Contains(log, "job ran") {
			t.Fatalf("first run's log: %q", log)
		}

		touch("hold")
		tick(5 * time.Minute) // 03:10:06: a run that holds
		e.waitRun(p.ID, at("03:10"), deploy.RunRunning)
		tick(5 * time.Minute) // 03:15:06: overlaps
		if s := e.waitRun(p.ID, at("03:15"), deploy.RunSkipped); !strings.Contains(s.Reason, "still running") || s.StartedAt != nil {
			t.Fatalf("overlapping due time: %+v", s)
		}
		touch("go")
		e.waitRun(p.ID, at("03:10"), deploy.RunSucceeded)
		os.Remove(filepath.Join(appDir, "hold"))

		touch("fail")
		tick(15 * time.Minute) // 03:30:06: 03:20 and 03:25 passed unseen, 03:30 runs
		f := e.waitRun(p.ID, at("03:30"), deploy.RunFailed)
		if f.ExitCode == nil || *f.ExitCode != 3 || !strings.Contains(e.runLog(p.ID, f.ID), "failing") {
			t.Fatalf("failing run: %+v", f)
		}
		for _, hm := range []string{"03:20", "03:25"} {
			if m := e.waitRun(p.ID, at(hm), deploy.RunMissed); !strings.Contains(m.Reason, "not started") {
				t.Fatalf("missed %s: %+v", hm, m)
			}
		}
		if runs := e.runs(p.ID); len(runs) != 6 {
			t.Fatalf("run history: %+v", runs)
		}
		var d struct {
			Schedule  string    `json:"schedule"`
			NextRunAt time.Time `json:"next_run_at"`
		}
		if err := e.c.Do(ctx, "GET", "/api/projects/"+p.ID+"/deployment", nil, "", &d); err != nil {
			t.Fatal(err)
		}
		if d.Schedule != "*/5 * * * *" || !d.NextRunAt.Equal(at("03:35")) {
			t.Fatalf("deployment: %+v", d)
		}
		if code, page := e.fetch(pub.URL, "/"); code != 200 || !strings.Contains(page, "Scheduled job") || !strings.Contains(page, "03:35:00Z") {
			t.Fatalf("a scheduled deployment's URL answered %d %q", code, page) // its schedule page (TestScheduleSetting)
		}
	})
}

func (e *env) runs(projectID string) []runView {
	e.t.Helper()
	var rs []runView
	if err := e.c.Do(context.Background(), "GET", "/api/projects/"+projectID+"/deployment/runs", nil, "", &rs); err != nil {
		e.t.Fatal(err)
	}
	return rs
}

func (e *env) runLog(projectID, runID string) string {
	e.t.Helper()
	res, err := e.c.Raw(context.Background(), "GET", "/api/projects/"+projectID+"/deployment/runs/"+runID+"/log", nil, "")
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	if _, err := io.Copy(&b, res.Body); err != nil {
		e.t.Fatal(err)
	}
	return b.String()
}

// waitRun waits, on the service's change notifications, until the run due
// at t has status want.
func (e *env) waitRun(projectID string, t time.Time, want string) runView {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		changed := e.srv.Deploy.Changed()
		for _, r := range e.runs(projectID) {
			if r.ScheduledAt.Equal(t) && r.Status == want {
				return r
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			e.t.Fatalf("the run due at %s never became %s: %+v", t.Format("15:04"), want, e.runs(projectID))
		}
	}
}

// tick advances the server's clock by d and runs the schedules due.
func (e *env) tick(d time.Duration) {
	e.t.Helper()
	e.srv.Clock.Advance(d)
	if err := e.srv.Deploy.RunSchedules(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

// clockAt is hh:mm on the test clock's day.
func clockAt(hhmm string) time.Time {
	tm, _ := time.Parse("2006-01-02 15:04", "2026-01-02 "+hhmm)
	return tm
}
