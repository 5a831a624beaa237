// Package runner keeps one sandbox per active project and what runs in it:
// the project's Run process with its output log, one-off commands, and
// interactive terminals. It starts sandboxes on demand, stops idle ones,
// and records every sandbox second as usage.
package runner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	"ecode/internal/sandbox"
	"ecode/internal/secrets"
	"ecode/internal/store"
)

// UsageRecorder stores metered usage (billing.Recorder implements it).
type UsageRecorder interface {
	// RecordUsages records events, idempotent on their keys, all at once
	// (billing.Recorder: one transaction).
	RecordUsages(ctx context.Context, evs []store.UsageEvent) error
}

// Files locates projects on disk and writes their run configuration.
type Files interface {
	Dir(projectID string) string
	WriteFile(projectID, name string, data []byte) error
}

// Options configure a Manager.
type Options struct {
	Limits sandbox.Limits
	// LimitsFor, when set, gives a project's sandbox its own limits from
	// the defaults (the memory of its owner's plan).
	LimitsFor   func(projectID string, defaults sandbox.Limits) sandbox.Limits
	IdleTimeout time.Duration // stop a sandbox after this long without activity
	Now         func() time.Time
	Log         *slog.Logger
	// Env is added to every process's environment (e.g. the egress proxy's).
	Env []string
	// ProjectEnv, when set, adds a project's own variables (its DATABASE_URL).
	ProjectEnv func(projectID string) []string
	// ReservedPorts are the platform's own listeners inside every sandbox
	// (the egress proxy, the database proxy): never taken for the app's.
	ReservedPorts []int
	// OnStop is told when a project's sandbox has stopped.
	OnStop func(projectID string)
	// Prepare, when set, runs before a project's sandbox is used (it
	// finishes a restore a crash interrupted: history.Service.Prepare).
	Prepare func(projectID string) error
	// Secrets, when set, gives a project's secrets as NAME=value for a
	// process started for use ("run", "exec", "terminal", "agent") and the
	// masker its output goes through. Platform variables win over them.
	Secrets func(ctx context.Context, projectID, use string) ([]string, *secrets.Matcher, error)
	// Observe, when set, is told of sandbox starts, runs and process ends.
	Observe Observer
}

// Manager owns every open project sandbox (Box).
type Manager struct {
	sb    sandbox.Runner
	files Files
	usage UsageRecorder
	opts  Options

	mu        sync.Mutex
	boxes     map[string]*Box
	closed    bool
	checkedOK time.Time      // last successful sandbox check
	wg        sync.WaitGroup // goroutines watching runs and terminals

	bmu     sync.Mutex
	changed chan struct{} // closed and replaced when any run state changes
}

// New builds a manager.
func New(sb sandbox.Runner, files Files, usage UsageRecorder, opts Options) *Manager {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Observe == nil {
		opts.Observe = noObserver{}
	}
	return &Manager{sb: sb, files: files, usage: usage, opts: opts, boxes: map[string]*Box{}, changed: make(chan struct{})}
}

// Check reports whether code can run (the sandbox works here). The
// sandbox's check starts a throwaway sandbox, so a success is trusted for
// half a minute.
func (m *Manager) Check(ctx context.Context) error {
	m.mu.Lock()
	fresh := !m.checkedOK.IsZero() && time.Since(m.checkedOK) < 30*time.Second
	m.mu.Unlock()
	if fresh {
		return nil
	}
	if err := m.sb.Check(); err != nil {
		return err
	}
	m.mu.Lock()
	m.checkedOK = time.Now()
	m.mu.Unlock()
	return nil
}

// uidFor gives each project a stable unprivileged uid of its own in
// [1000000, 1000000+2^24), derived from its id.
func uidFor(projectID string) int {
	h := fnv.New32a()
	h.Write([]byte(projectID))
	return 1_000_000 + int(h.Sum32()&(1<<24-1))
}

// box returns the project's open sandbox, opening it if needed.
func (m *Manager) box(ctx context.Context, projectID string) (*Box, error) {
	if m.opts.Prepare != nil { // before the lock: it may wait for a restore, which stops runs
		if err := m.opts.Prepare(projectID); err != nil {
			return nil, err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, sandbox.ErrClosed
	}
	if e, ok := m.boxes[projectID]; ok {
		return e, nil
	}
	ctx, sp := startSpan(ctx, "sandbox start", attribute.String("ecode.project_id", projectID))
	t0 := time.Now()
	ws, err := m.sb.Workspace(ctx, projectID, sandbox.Spec{
		Dir: m.files.Dir(projectID), UID: uidFor(projectID), Limits: m.LimitsOf(projectID),
	})
	m.opts.Observe.SandboxStarted(time.Since(t0), err)
	if err != nil {
		sp.SetStatus(codes.Error, "open sandbox")
		sp.End()
		return nil, fmt.Errorf("open sandbox: %w", err)
	}
	sp.End()
	b := make([]byte, 8)
	rand.Read(b)
	e := &Box{m: m, projectID: projectID, ws: ws, key: hex.EncodeToString(b), opened: m.opts.Now(),
		terms: map[string]*Terminal{}}
	e.lastUsage = e.opened
	m.boxes[projectID] = e
	return e, nil
}

// Active is the number of open sandboxes.
func (m *Manager) Active() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.boxes)
}

// existing returns the project's open sandbox, or nil.
func (m *Manager) existing(projectID string) *Box {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.boxes[projectID]
}

// Stop closes a project's sandbox: every process ends.
func (m *Manager) Stop(projectID string) error {
	m.mu.Lock()
	e := m.boxes[projectID]
	delete(m.boxes, projectID)
	m.mu.Unlock()
	if e == nil {
		return nil
	}
	return e.close()
}

// Run maintains the open sandboxes until ctx ends: every tick it records
// usage of open sandboxes and stops idle ones. Then it closes everything.
func (m *Manager) Run(ctx context.Context, tick <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			m.Close()
			return
		case <-tick:
			m.Maintain(ctx)
		}
	}
}

// Maintain records usage and stops idle sandboxes (what one tick does).
func (m *Manager) Maintain(ctx context.Context) {
	m.mu.Lock()
	boxes := make([]*Box, 0, len(m.boxes))
	for _, e := range m.boxes {
		boxes = append(boxes, e)
	}
	m.mu.Unlock()
	now := m.opts.Now()
	var evs []store.UsageEvent
	for _, e := range boxes {
		evs = append(evs, e.usageEvents(now)...)
	}
	m.recordUsage(ctx, evs) // every sandbox's in one transaction
	for _, e := range boxes {
		if e.idle(now, m.opts.IdleTimeout) {
			m.opts.Log.Info("stopping idle sandbox", "project_id", e.projectID)
			if err := m.Stop(e.projectID); err != nil {
				m.opts.Log.Warn("stop idle sandbox", "project_id", e.projectID, "err", err)
			}
		}
	}
}

// Close stops every sandbox and waits for the goroutines watching them.
func (m *Manager) Close() error {
	m.mu.Lock()
	m.closed = true
	boxes := m.boxes
	m.boxes = map[string]*Box{}
	m.mu.Unlock()
	var errs []error
	for _, e := range boxes {
		errs = append(errs, e.close())
	}
	m.wg.Wait()
	return errors.Join(errs...)
}

// toolEnv is the environment every process in a sandbox gets: the host's
// toolchains on PATH; Go keeps its build cache in the project (.cache, so
// rebuilds are fast and it counts against the project, not /tmp), npm in /tmp.
var toolEnv = []string{
	"PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"GOCACHE=/workspace/.cache/go-build", "GOPATH=/workspace/.cache/go", "GOTOOLCHAIN=local", "GOFLAGS=-modcacherw",
	"npm_config_cache=/tmp/.npm", "npm_config_update_notifier=false", "PYTHONDONTWRITEBYTECODE=1",
	"HISTFILE=/tmp/.bash_history",
}

func (m *Manager) withToolEnv(projectID string, env ...string) []string {
	out := append(append([]string{}, toolEnv...), m.opts.Env...)
	if m.opts.ProjectEnv != nil {
		out = append(out, m.opts.ProjectEnv(projectID)...)
	}
	return append(out, env...)
}

// ProcessEnv is the environment of a process started for use outside the
// project's own sandbox (a deployment's build or instance): the toolchain
// variables, the project's, env, and the project's secrets, with their masker.
func (m *Manager) ProcessEnv(ctx context.Context, projectID, use string, env ...string) ([]string, *secrets.Matcher, error) {
	return m.processEnv(ctx, projectID, use, env...)
}

// processEnv is withToolEnv plus the project's secrets for use (none that
// would replace a platform variable), and the masker of their values.
func (m *Manager) processEnv(ctx context.Context, projectID, use string, env ...string) ([]string, *secrets.Matcher, error) {
	out := m.withToolEnv(projectID, env...)
	if m.opts.Secrets == nil {
		return out, nil, nil
	}
	sec, mask, err := m.opts.Secrets(ctx, projectID, use)
	if err != nil {
		return nil, nil, fmt.Errorf("project secrets: %w", err)
	}
	platform := map[string]bool{}
	for _, kv := range out {
		name, _, _ := strings.Cut(kv, "=")
		platform[name] = true
	}
	for _, kv := range sec {
		if name, _, _ := strings.Cut(kv, "="); !platform[name] {
			out = append(out, kv)
		}
	}
	return out, mask, nil
}

// Exec runs one shell command in the project's sandbox.
func (m *Manager) Exec(ctx context.Context, projectID, command string, timeout time.Duration) (sandbox.Result, error) {
	return m.ExecAs(ctx, projectID, "exec", command, timeout)
}

// ExecAs is Exec for a use ("exec", or "agent" for the agent's shell),
// which the secrets' audit records. Output is masked.
func (m *Manager) ExecAs(ctx context.Context, projectID, use, command string, timeout time.Duration) (sandbox.Result, error) {
	ctx, sp := startSpan(ctx, "sandbox exec", attribute.String("ecode.project_id", projectID), attribute.String("ecode.exec.use", use))
	defer sp.End()
	e, err := m.box(ctx, projectID)
	if err != nil {
		sp.SetStatus(codes.Error, "open sandbox")
		return sandbox.Result{}, err
	}
	env, mask, err := m.processEnv(ctx, projectID, use, "TERM=dumb")
	if err != nil {
		sp.SetStatus(codes.Error, "environment")
		return sandbox.Result{}, err
	}
	res, err := e.ws.Exec(ctx, sandbox.Cmd{Args: []string{"/bin/sh", "-c", command}, Timeout: timeout, Env: env})
	m.opts.Observe.ProcessEnded(use, res.Reason)
	sp.SetAttributes(attribute.Int("process.exit.code", res.ExitCode), attribute.String("ecode.exec.reason", res.Reason))
	if err != nil {
		sp.SetStatus(codes.Error, "exec failed")
	}
	if mask != nil {
		res.Stdout, res.Stderr = mask.Bytes(res.Stdout), mask.Bytes(res.Stderr)
	}
	return res, err
}

// Box is one project's open sandbox and what runs in it (its run, its
// terminals, its usage).
type Box struct {
	m         *Manager
	projectID string
	ws        sandbox.Workspace
	key       string // unique per opening; part of usage idempotency keys
	opened    time.Time

	mu        sync.Mutex
	run       *Run
	runs      int
	terms     map[string]*Terminal
	lastUsage time.Time
	lastCPU   time.Duration
	usageSeq  int
	closed    bool
}

// Workspace is the project's sandbox (for the preview proxy's dialer).
func (e *Box) Workspace() sandbox.Workspace { return e.ws }

// Changed returns a channel that is closed at the next change of any
// project's run state (watchers re-read their own project's state).
func (m *Manager) Changed() <-chan struct{} {
	m.bmu.Lock()
	defer m.bmu.Unlock()
	return m.changed
}

func (m *Manager) notify() {
	m.bmu.Lock()
	close(m.changed)
	m.changed = make(chan struct{})
	m.bmu.Unlock()
}

// idle reports whether nothing has happened in the sandbox for d and no run
// or attached terminal keeps it busy.
func (e *Box) idle(now time.Time, d time.Duration) bool {
	if d <= 0 {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.run != nil && e.run.active() {
		return false
	}
	for _, t := range e.terms {
		if t.attached() > 0 {
			return false
		}
	}
	last := e.ws.LastActivity()
	if last.Before(e.opened) {
		last = e.opened
	}
	return now.Sub(last) >= d
}

func (e *Box) close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	run := e.run
	e.mu.Unlock()
	if run != nil {
		run.stop()
	}
	e.m.recordUsage(context.Background(), e.usageEvents(e.m.opts.Now()))
	err := e.ws.Close()
	if e.m.opts.OnStop != nil {
		e.m.opts.OnStop(e.projectID)
	}
	e.mu.Lock()
	for _, t := range e.terms {
		t.out.Close()
	}
	e.mu.Unlock()
	e.m.notify()
	return err
}

// recordUsage records the usage events of one or more sandboxes; a failure
// is logged (the time is not metered again).
func (m *Manager) recordUsage(ctx context.Context, evs []store.UsageEvent) {
	if len(evs) == 0 || m.usage == nil {
		return
	}
	if err := m.usage.RecordUsages(ctx, evs); err != nil {
		m.opts.Log.Error("record usage", "events", len(evs), "err", err)
	}
}

// usageEvents returns the CPU time and sandbox wall time (× memory size in
// GiB) used since the last call, each with an idempotency key.
func (e *Box) usageEvents(now time.Time) []store.UsageEvent {
	u, err := e.ws.Usage()
	e.mu.Lock()
	wall := now.Sub(e.lastUsage)
	cpu := u.CPUTime - e.lastCPU
	if err != nil || cpu < 0 {
		cpu = 0
	}
	seq := e.usageSeq
	e.usageSeq++
	e.lastUsage, e.lastCPU = now, u.CPUTime
	e.mu.Unlock()
	if wall <= 0 && cpu <= 0 {
		return nil
	}
	gib := float64(e.m.opts.Limits.MemoryBytes) / (1 << 30)
	if gib <= 0 {
		gib = 1
	}
	evs := []store.UsageEvent{
		{Kind: "sandbox_cpu_seconds", Quantity: cpu.Seconds(), Unit: "cpu-second"},
		{Kind: "sandbox_gib_seconds", Quantity: wall.Seconds() * gib, Unit: "GiB-second"},
	}
	for i := range evs {
		ev := &evs[i]
		ev.ID = e.key + fmt.Sprintf("-%d-", seq) + ev.Kind
		ev.IdempotencyKey = fmt.Sprintf("sandbox:%s:%s:%d:%s", e.projectID, e.key, seq, ev.Kind)
		ev.ProjectID, ev.CreatedAt = e.projectID, now
	}
	return evs
}
