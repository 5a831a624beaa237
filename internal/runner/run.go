package runner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"ecode/internal/runconfig"
	"ecode/internal/sandbox"
)

// Run states.
const (
	StateIdle     = "idle"     // nothing has run since the sandbox started
	StateStarting = "starting" // the process started; the app does not listen yet
	StateRunning  = "running"  // the app listens on its port (or runs without one)
	StateExited   = "exited"   // the process ended by itself
	StateStopped  = "stopped"  // the user stopped it
)

// outputKeep is how much run output is kept for viewers who (re)connect.
const outputKeep = 1 << 20

// Run is one execution of the project's run command.
type Run struct {
	ID      string
	Command string
	Port    int
	Output  *Log

	env   *Box
	proc  *sandbox.Process
	flush func() error // the output masker's, at the end

	mu        sync.Mutex
	state     string
	exitCode  *int
	reason    string
	listening bool
	phase     string
	started   time.Time
	ended     time.Time
	stopping  bool
	why       string // the stop's reason ("" for the user's: "stopped")
}

// RunState is a snapshot of a run, as the API shows it.
type RunState struct {
	State     string     `json:"state"`
	RunID     string     `json:"run_id,omitempty"`
	Command   string     `json:"command,omitempty"`
	ExitCode  *int       `json:"exit_code,omitempty"`
	Reason    string     `json:"reason,omitempty"`
	Port      int        `json:"port,omitempty"`
	Listening bool       `json:"listening"`
	Phase     string     `json:"phase,omitempty"` // install, build or run: the step of the script now running
	StartedAt *time.Time `json:"started_at,omitempty"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
}

func (r *Run) Snapshot() RunState {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := RunState{State: r.state, RunID: r.ID, Command: r.Command, ExitCode: r.exitCode, Reason: r.reason,
		Port: r.Port, Listening: r.listening, Phase: r.phase}
	started := r.started
	s.StartedAt = &started
	if !r.ended.IsZero() {
		ended := r.ended
		s.EndedAt = &ended
	}
	return s
}

func (r *Run) active() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state == StateStarting || r.state == StateRunning
}

// stop kills the run's processes and marks it stopped.
func (r *Run) stop() { r.stopFor("") }

// stopFor stops the run with a reason the final state shows (e.g. "quota").
func (r *Run) stopFor(why string) {
	r.mu.Lock()
	r.stopping = true
	if r.why == "" {
		r.why = why
	}
	r.mu.Unlock()
	r.proc.Kill()
	<-r.proc.Done()
}

// script runs install and build (each printed dimmed before it runs) and
// then replaces itself with the run command. Commands come in through the
// environment, so no quoting is needed. Install runs only when the
// manifests changed since its last success. Each step writes its name
// (install, build, run) to .ecode/phase, which the watcher reads.
const script = `set -e
step() { mkdir -p .ecode && printf '%s' "$1" > .ecode/phase 2>/dev/null || true; printf '\033[2m$ %s\033[0m\n' "$2"; }
if [ -n "$ECODE_INSTALL" ]; then
  sum=$(cat package.json package-lock.json yarn.lock pnpm-lock.yaml requirements.txt go.sum 2>/dev/null | cksum)
  if [ "$(cat .ecode/install.sum 2>/dev/null)" != "$sum" ]; then
    step install "$ECODE_INSTALL"; sh -c "$ECODE_INSTALL"
    mkdir -p .ecode && printf '%s' "$sum" > .ecode/install.sum
  fi
fi
if [ -n "$ECODE_BUILD" ]; then step build "$ECODE_BUILD"; sh -c "$ECODE_BUILD"; fi
step run "$ECODE_RUN"
exec sh -c "$ECODE_RUN"
`

// phaseFile is where the script records its current step, relative to the project.
const phaseFile = ".ecode/phase"

// Phases of a run, in order.
var phases = map[string]bool{"install": true, "build": true, "run": true}

// readPhase returns the step the run's script is in ("" when unknown).
func (r *Run) readPhase() string {
	b, err := os.ReadFile(filepath.Join(r.env.m.files.Dir(r.env.projectID), phaseFile))
	if err != nil || !phases[string(b)] {
		return ""
	}
	return string(b)
}

// Config loads the project's run configuration (detecting one if the
// project has no .ecode.toml).
func (m *Manager) Config(projectID string) (runconfig.Config, bool, error) {
	return runconfig.Load(os.DirFS(m.files.Dir(projectID)))
}

// StartRun (re)starts the project's run command. A detected configuration
// is written back to .ecode.toml so the user can edit it.
func (m *Manager) StartRun(ctx context.Context, projectID string) (RunState, error) {
	return m.startRun(ctx, projectID, "")
}

// startRun is StartRun; a note, when given, is the new run's first output
// line (why it started), written before the process can write anything.
func (m *Manager) startRun(ctx context.Context, projectID, note string) (RunState, error) {
	cfg, detected, err := m.Config(projectID)
	if err != nil {
		return RunState{}, err
	}
	if detected {
		if err := m.files.WriteFile(projectID, runconfig.FileName, cfg.Encode()); err != nil {
			return RunState{}, fmt.Errorf("write %s: %w", runconfig.FileName, err)
		}
	}
	e, err := m.box(ctx, projectID)
	if err != nil {
		return RunState{}, err
	}
	e.mu.Lock()
	old := e.run
	e.mu.Unlock()
	if old != nil && old.active() {
		old.stop()
	}

	os.Remove(filepath.Join(m.files.Dir(projectID), phaseFile)) // the previous run's step
	out := NewLog(outputKeep)
	if note != "" {
		fmt.Fprintf(out, "\033[33m%s\033[0m\r\n", note)
	}
	env, mask, err := m.processEnv(ctx, projectID, "run", append(cfg.EnvList(), "ECODE_INSTALL="+cfg.Install, "ECODE_BUILD="+cfg.Build, "ECODE_RUN="+cfg.Run,
		"TERM=xterm-256color", "FORCE_COLOR=1")...)
	if err != nil {
		return RunState{}, err
	}
	sink := mask.Stream(out) // nil mask: passes through
	// The run outlives the request that started it.
	proc, err := e.ws.Start(context.WithoutCancel(ctx), sandbox.Cmd{
		Args: []string{"/bin/sh", "-c", script}, Env: env, Stdout: sink, Stderr: sink,
	})
	if err != nil {
		return RunState{}, fmt.Errorf("start run: %w", err)
	}
	e.mu.Lock()
	e.runs++
	r := &Run{ID: e.key + "-" + strconv.Itoa(e.runs), Command: cfg.Run, Port: cfg.Port, Output: out,
		env: e, proc: proc, state: StateStarting, started: m.opts.Now(), flush: sink.Flush}
	e.run = r
	e.mu.Unlock()
	m.opts.Observe.RunStarted()
	m.notify()
	m.wg.Go(func() { r.watch() })
	return r.Snapshot(), nil
}

// watch waits for the app to listen, then for the process to end. When
// nothing answers on the configured port, it looks (every second) for a
// port the app listens on instead, so apps that ignore $PORT still preview.
func (r *Run) watch() {
	probe := time.NewTicker(200 * time.Millisecond)
	defer probe.Stop()
	for tick := 1; !r.isListening(); tick++ {
		select {
		case <-r.proc.Done():
			r.finish()
			return
		case <-probe.C:
			if p := r.readPhase(); p != "" && p != r.Snapshot().Phase {
				r.set(func() { r.phase = p })
			}
			if !r.dial() && tick%5 == 0 {
				if port := r.discoverPort(); port != 0 {
					r.set(func() { r.Port = port })
				}
			}
			if r.dial() {
				r.set(func() { r.listening, r.state = true, StateRunning })
			}
		}
	}
	<-r.proc.Done()
	r.finish()
}

// discoverPort returns the lowest TCP port ≥ 1024 something listens on in
// the sandbox (on loopback or all addresses), or 0.
func (r *Run) discoverPort() int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	res, err := r.env.ws.Exec(ctx, sandbox.Cmd{Args: []string{"/bin/cat", "/proc/net/tcp", "/proc/net/tcp6"}})
	if err != nil {
		return 0
	}
	return lowestListeningPort(string(res.Stdout), 1024, r.env.m.opts.ReservedPorts)
}

// lowestListeningPort parses /proc/net/tcp{,6} lines.
func lowestListeningPort(table string, min int, skip []int) int {
	best := 0
	for _, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || f[3] != "0A" { // 0A: LISTEN
			continue
		}
		_, hexPort, ok := strings.Cut(f[1], ":")
		if !ok {
			continue
		}
		port, err := strconv.ParseUint(hexPort, 16, 16)
		if err != nil || int(port) < min || slices.Contains(skip, int(port)) {
			continue
		}
		if best == 0 || int(port) < best {
			best = int(port)
		}
	}
	return best
}

func (r *Run) isListening() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.listening
}

func (r *Run) dial() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	r.mu.Lock()
	port := r.Port
	r.mu.Unlock()
	c, err := r.env.ws.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func (r *Run) finish() {
	res, err := r.proc.Wait()
	// The output's last line goes before the state change, so whoever sees
	// the run ended and reads its output sees the exit line too.
	if r.flush != nil {
		r.flush() // what the masker held back: the output has ended
	}
	fmt.Fprintf(r.Output, "\r\n\033[2m[process %s with code %d]\033[0m\r\n", map[bool]string{true: "stopped", false: "exited"}[r.stopping], res.ExitCode)
	r.set(func() {
		code := res.ExitCode
		r.exitCode, r.ended, r.listening = &code, r.env.m.opts.Now(), false
		r.state, r.reason = StateExited, res.Reason
		if r.stopping {
			r.state, r.reason = StateStopped, StateStopped
			if r.why != "" {
				r.reason = r.why
			}
		}
		if err != nil && r.reason == "" {
			r.reason = "error"
		}
	})
	reason := res.Reason
	if r.stopping {
		reason = StateStopped
	}
	r.env.m.opts.Observe.ProcessEnded("run", reason)
	r.Output.Close()
}

// set changes the run's state and tells watchers.
func (r *Run) set(change func()) {
	r.mu.Lock()
	change()
	r.mu.Unlock()
	r.env.m.notify()
}

// StopRun stops the project's run, if any.
func (m *Manager) StopRun(projectID string) (RunState, error) { return m.StopRunFor(projectID, "") }

// StopRunFor stops the project's run with a reason its final state shows
// (e.g. "quota" when the owner's credits ran out; "" for the user's stop).
func (m *Manager) StopRunFor(projectID, why string) (RunState, error) {
	e := m.existing(projectID)
	if e == nil {
		return RunState{State: StateIdle}, nil
	}
	e.mu.Lock()
	r := e.run
	e.mu.Unlock()
	if r == nil {
		return RunState{State: StateIdle}, nil
	}
	if r.active() {
		r.stopFor(why)
		<-r.proc.Done()
	}
	// finish runs in the watcher; wait for it to publish the final state.
	for {
		changed := m.Changed()
		if s := r.Snapshot(); s.State != StateStarting && s.State != StateRunning {
			return s, nil
		}
		<-changed
	}
}

// Running lists the projects whose run is starting or running.
func (m *Manager) Running() []string {
	m.mu.Lock()
	boxes := make([]*Box, 0, len(m.boxes))
	for _, b := range m.boxes {
		boxes = append(boxes, b)
	}
	m.mu.Unlock()
	var out []string
	for _, b := range boxes {
		b.mu.Lock()
		r := b.run
		b.mu.Unlock()
		if r != nil {
			if st := r.Snapshot().State; st == StateStarting || st == StateRunning {
				out = append(out, b.projectID)
			}
		}
	}
	return out
}

// RunState returns the project's run state.
func (m *Manager) RunState(projectID string) RunState {
	if r := m.CurrentRun(projectID); r != nil {
		return r.Snapshot()
	}
	return RunState{State: StateIdle}
}

// CurrentRun returns the project's latest run (nil if none).
func (m *Manager) CurrentRun(projectID string) *Run {
	e := m.existing(projectID)
	if e == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.run
}

// Dial connects to a port of the project's sandbox (for the preview).
func (m *Manager) Dial(ctx context.Context, projectID string, port int) (net.Conn, error) {
	e := m.existing(projectID)
	if e == nil {
		return nil, errors.New("the project is not running")
	}
	return e.ws.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
}

// RestartIfRunning restarts the project's app when it is running (or
// starting); note opens the new run's output (the one the user watches
// from then on) so the user sees why. It reports whether it restarted.
func (m *Manager) RestartIfRunning(ctx context.Context, projectID, note string) (bool, error) {
	r := m.CurrentRun(projectID)
	if r == nil || !r.active() {
		return false, nil
	}
	_, err := m.startRun(ctx, projectID, note)
	return err == nil, err
}

// Limits returns the limits every project's sandbox runs under.
func (m *Manager) Limits() sandbox.Limits { return m.opts.Limits }

// LimitsOf is the project's sandbox limits: Options.LimitsFor's (its
// owner's plan), else the defaults.
func (m *Manager) LimitsOf(projectID string) sandbox.Limits {
	if m.opts.LimitsFor != nil {
		return m.opts.LimitsFor(projectID, m.opts.Limits)
	}
	return m.opts.Limits
}
