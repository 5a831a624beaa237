package runner_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ecode/internal/runner"
	"ecode/internal/sandbox"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

type recorder struct {
	mu     sync.Mutex
	events []store.UsageEvent
	keys   map[string]bool
}

func (r *recorder) RecordUsages(_ context.Context, evs []store.UsageEvent) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range evs {
		if !r.keys[e.IdempotencyKey] {
			r.keys[e.IdempotencyKey] = true
			r.events = append(r.events, e)
		}
	}
	return nil
}

type dirFiles string

func (d dirFiles) Dir(id string) string { return filepath.Join(string(d), id) }
func (d dirFiles) WriteFile(id, name string, data []byte) error {
	return os.WriteFile(filepath.Join(string(d), id, name), data, 0o644)
}

func newManager(t *testing.T) (*runner.Manager, *recorder, *testutil.Clock, dirFiles) {
	sb := testutil.NewSandbox(t)
	testutil.RequireSandbox(t, sb)
	dir := dirFiles(testutil.TraversableTempDir(t))
	os.Mkdir(dir.Dir("p1"), 0o755)
	rec := &recorder{keys: map[string]bool{}}
	clock := testutil.NewClock(time.Now())
	m := runner.New(sb, dir, rec, runner.Options{
		Limits:      sandbox.Limits{MemoryBytes: 256 << 20, CPU: 1, MaxProcs: 128, TmpBytes: 16 << 20},
		IdleTimeout: 30 * time.Minute, Now: clock.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	t.Cleanup(func() { m.Close() })
	return m, rec, clock, dir
}

func TestIdleSandboxStopsAndUsageIsRecorded(t *testing.T) {
	m, rec, clock, _ := newManager(t)
	ctx := context.Background()
	res, err := m.Exec(ctx, "p1", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; echo done", time.Minute)
	if err != nil || string(res.Stdout) != "done\n" {
		t.Fatalf("exec: %+v, %v", res, err)
	}
	term, err := m.OpenTerminal(ctx, "p1", 24, 80)
	if err != nil {
		t.Fatal(err)
	}
	detach := term.Attach()

	// An attached terminal keeps the sandbox alive past the idle timeout.
	clock.Advance(time.Hour)
	m.Maintain(ctx)
	if len(m.Terminals("p1")) != 1 {
		t.Fatal("sandbox with an attached terminal was stopped")
	}
	detach()
	clock.Advance(time.Hour)
	m.Maintain(ctx)
	if len(m.Terminals("p1")) != 0 {
		t.Fatal("idle sandbox was not stopped")
	}
	if _, _, _, done := term.Output().ReadFrom(0); !done {
		t.Error("terminal of a stopped sandbox still open")
	}

	var cpu, gib float64
	for _, e := range rec.events {
		switch e.Kind {
		case "sandbox_cpu_seconds":
			cpu += e.Quantity
		case "sandbox_gib_seconds":
			gib += e.Quantity
		}
		if e.ProjectID != "p1" || e.IdempotencyKey == "" {
			t.Errorf("event %+v", e)
		}
	}
	if cpu <= 0 {
		t.Errorf("no CPU time recorded: %+v", rec.events)
	}
	// Two hours of (fake) sandbox time at 0.25 GiB.
	if want := 2 * 3600 * 0.25; gib < want || gib > want+60 {
		t.Errorf("GiB-seconds = %v, want about %v", gib, want)
	}
}

func TestStopKillsTheRunAndReportsIt(t *testing.T) {
	m, _, _, dir := newManager(t)
	ctx := context.Background()
	os.WriteFile(filepath.Join(dir.Dir("p1"), ".ecode.toml"), []byte("run = \"sleep 1000 & sleep 1000 & wait\"\n"), 0o644)
	if _, err := m.StartRun(ctx, "p1"); err != nil {
		t.Fatal(err)
	}
	st, err := m.StopRun("p1")
	if err != nil {
		t.Fatal(err)
	}
	if st.State != runner.StateStopped || st.Reason != "stopped" || st.ExitCode == nil {
		t.Fatalf("after stop: %+v", st)
	}
	res, err := m.Exec(ctx, "p1", "ps -e -o comm= | grep -c sleep || true", time.Minute)
	if err != nil || string(res.Stdout) != "0\n" {
		t.Errorf("processes of the run survived Stop: %q, %v", res.Stdout, err)
	}
}

func TestDetectedConfigIsWrittenBack(t *testing.T) {
	m, _, _, dir := newManager(t)
	os.WriteFile(filepath.Join(dir.Dir("p1"), "main.py"), []byte("print('hi from python')\n"), 0o644)
	if _, err := m.StartRun(context.Background(), "p1"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir.Dir("p1"), ".ecode.toml"))
	if err != nil || len(b) == 0 {
		t.Fatalf(".ecode.toml not written back: %v", err)
	}
	cfg, detected, err := m.Config("p1")
	if err != nil || detected || cfg.Run != "python3 main.py" {
		t.Errorf("config after write-back: %+v detected=%v %v", cfg, detected, err)
	}
}

func TestPortIsDiscoveredWhenTheAppIgnoresPORT(t *testing.T) {
	m, _, _, dir := newManager(t)
	ctx := context.Background()
	os.WriteFile(filepath.Join(dir.Dir("p1"), ".ecode.toml"), []byte("run = \"python3 -m http.server 8765 --bind 127.0.0.1\"\n"), 0o644)
	if _, err := m.StartRun(ctx, "p1"); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(time.Minute)
	for {
		changed := m.Changed()
		st := m.RunState("p1")
		if st.Listening {
			if st.Port != 8765 {
				t.Fatalf("listening on port %d, want 8765", st.Port)
			}
			break
		}
		if st.State == runner.StateExited {
			t.Fatalf("run ended: %+v", st)
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("port never found: %+v", st)
		}
	}
	c, err := m.Dial(ctx, "p1", 8765)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

// endObserver records, when a run is reported ended, the project's state
// and output at that moment.
type endObserver struct {
	m     **runner.Manager
	ended chan string
}

func (endObserver) SandboxStarted(time.Duration, error) {}
func (endObserver) RunStarted()                         {}
func (o endObserver) ProcessEnded(use, _ string) {
	if use != "run" {
		return
	}
	m := *o.m
	data, _, _, _ := m.CurrentRun("p1").Output.ReadFrom(0)
	o.ended <- m.RunState("p1").State + " " + string(data)
}

// Whoever sees a run ended and then reads its output sees the exit line:
// the line is written before the state changes (the backup test once read
// the output between the two). The observer is told after the state changed.
func TestExitLineIsWrittenBeforeTheRunEnds(t *testing.T) {
	sb := testutil.NewSandbox(t)
	testutil.RequireSandbox(t, sb)
	dir := dirFiles(testutil.TraversableTempDir(t))
	os.Mkdir(dir.Dir("p1"), 0o755)
	var m *runner.Manager
	obs := endObserver{m: &m, ended: make(chan string, 1)}
	m = runner.New(sb, dir, &recorder{keys: map[string]bool{}}, runner.Options{
		Limits:      sandbox.Limits{MemoryBytes: 256 << 20, CPU: 1, MaxProcs: 128, TmpBytes: 16 << 20},
		IdleTimeout: 30 * time.Minute, Observe: obs, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	t.Cleanup(func() { m.Close() })
	os.WriteFile(filepath.Join(dir.Dir("p1"), ".ecode.toml"), []byte("run = \"echo hi\"\n"), 0o644)
	if _, err := m.StartRun(context.Background(), "p1"); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-obs.ended:
		if !strings.HasPrefix(got, runner.StateExited+" ") || !strings.Contains(got, "[process exited with code 0]") {
			t.Fatalf("when the run was reported ended, state and output were %q", got)
		}
	case <-time.After(time.Minute):
		t.Fatal("the run was never reported ended")
	}
}

// A restart for a reason (the secrets changed) says why in the new run's
// output, the one the user watches from then on.
func TestRestartNoteOpensTheNewRunsOutput(t *testing.T) {
	m, _, _, dir := newManager(t)
	os.WriteFile(filepath.Join(dir.Dir("p1"), ".ecode.toml"), []byte("run = \"exec sleep 600\"\n"), 0o644)
	ctx := context.Background()
	if _, err := m.StartRun(ctx, "p1"); err != nil {
		t.Fatal(err)
	}
	old := m.CurrentRun("p1")
	const note = "[e-code] the project's secrets changed: restarting the app"
	restarted, err := m.RestartIfRunning(ctx, "p1", note)
	if err != nil || !restarted {
		t.Fatalf("restart: %v, %v", restarted, err)
	}
	cur := m.CurrentRun("p1")
	if cur == old {
		t.Fatal("no new run after the restart")
	}
	data, _, _, _ := cur.Output.ReadFrom(0)
	if !strings.Contains(string(data), note) {
		t.Fatalf("the new run's output %q lacks the note", data)
	}
}
