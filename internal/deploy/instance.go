package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"ecode/internal/runconfig"
	"ecode/internal/sandbox"
	"ecode/internal/store"
)

// deployment is a project's deployment in memory: the instance serving it.
type deployment struct {
	projectID string
	slug      string

	mu     sync.Mutex
	active *instance
	asleep *store.Release // an autoscale release scaled to zero: woken by the next request
	waking *wakeCall      // its start in progress, which requests wait for
	// suspended is why the deployment was stopped by Suspend (a reason
	// code such as ReasonQuota), until a release goes live again.
	suspended string
	// scheduled: a scheduled release is active (no instance; its host
	// shows the schedule page).
	scheduled bool
	// restarting: a restart with changed secrets is under way; again: the
	// secrets changed once more meanwhile, so it runs again after. (Why
	// and when one failed is kept in the store: Deployment.SecretsRestartError.)
	restarting, again bool
	// resizing: a change of size is replacing the serving group.
	resizing bool

	// groupMu serialises changes of the serving group's instances
	// (scaling, restarts with new secrets).
	groupMu sync.Mutex
}

// swap makes n the serving instance and returns the one before; a release
// asleep is forgotten (n replaces it), and so is a suspension (a failed
// restart with new secrets is forgotten by switchTo's ActivateRelease).
func (d *deployment) swap(n *instance) *instance {
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.active
	d.active, d.asleep, d.suspended, d.scheduled = n, nil, "", false
	return old
}

// acquire returns the serving instance with a request counted on it (call
// its done), or nil when nothing serves.
func (d *deployment) acquire() *instance {
	for {
		d.mu.Lock()
		inst := d.active
		d.mu.Unlock()
		if inst == nil {
			return nil
		}
		pick := inst.pick()
		if pick.acquire() {
			return pick
		}
		if pick != inst && inst.acquire() { // a replica scaled away meanwhile
			return inst
		}
		// stopped between the load and the count: the active one is newer
		d.mu.Lock()
		same := d.active == inst
		d.mu.Unlock()
		if same {
			return nil
		}
	}
}

// instance is one running copy of a release: a folder of files (static) or
// a process in a production sandbox of its own (server).
type instance struct {
	s         *Service
	rel       store.Release
	static    http.Handler // static releases
	ws        sandbox.Workspace
	cfg       runconfig.Config
	transport *http.Transport
	rp        *httputil.ReverseProxy
	fast      *fastProxy // GET and HEAD without a body (fastOK); the rest goes through rp
	unbindDB  func()     // after the sandbox closed: it may no longer reach the production database

	mu       sync.Mutex
	inflight int
	draining bool
	stopped  bool
	idle     chan struct{} // closed when a draining instance has no requests left
	proc     *sandbox.Process
	quit     chan struct{} // closed by stop
	metered  time.Time     // a server's process time is accounted up to here (zero: nothing runs)
	weight   float64       // its size's weight: an instance-second is metered as this many
	lastUsed time.Time     // when the last request ended (or the instance started): for scale to zero
	crashing bool          // its process exited and is not listening again yet

	// replicas are the other instances of the release when the deployment
	// runs several (a slice never changed once stored: scaling stores a new
	// one); requests go round robin over this one and them (rr), skipping
	// crashing ones.
	replicas atomic.Pointer[[]*instance]
	rr       atomic.Uint32
}

// pick returns the instance of the group (i and its replicas) the next
// request goes to: round robin over the ones not crashing (all crashing:
// any, whose proxy then answers 502).
func (i *instance) pick() *instance {
	reps := i.reps()
	n := uint32(len(reps) + 1)
	if n == 1 {
		return i
	}
	start := i.rr.Add(1)
	for k := range n {
		c := i
		if j := (start + k) % n; j > 0 {
			c = reps[j-1]
		}
		c.mu.Lock()
		ok := !c.crashing
		c.mu.Unlock()
		if ok {
			return c
		}
	}
	return i
}

// count is how many instances the group has.
func (i *instance) count() int { return len(i.reps()) + 1 }

// reps is the group's other instances now.
func (i *instance) reps() []*instance {
	if p := i.replicas.Load(); p != nil {
		return *p
	}
	return nil
}

func (i *instance) acquire() bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.stopped {
		return false
	}
	i.inflight++
	return true
}

func (i *instance) done() {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.inflight--
	i.lastUsed = i.s.d.Now()
	if i.inflight == 0 && i.draining {
		close(i.idle)
		i.draining = false
	}
}

// drain waits for the requests in progress (at most timeout), then stops.
func (i *instance) drain(timeout time.Duration) {
	var wg sync.WaitGroup
	for _, r := range i.reps() {
		wg.Go(func() { r.drain(timeout) })
	}
	i.mu.Lock()
	var idle chan struct{}
	if i.inflight > 0 {
		idle = make(chan struct{})
		i.idle, i.draining = idle, true
	}
	i.mu.Unlock()
	if idle != nil {
		t := time.NewTimer(timeout)
		select {
		case <-idle:
		case <-t.C:
		}
		t.Stop()
	}
	wg.Wait() // the replicas' requests end before stop would end them
	i.stop()
}

// stop ends the instance: no new requests, the sandbox closed.
func (i *instance) stop() {
	i.mu.Lock()
	if i.stopped {
		i.mu.Unlock()
		return
	}
	i.stopped = true
	close(i.quit)
	if !i.metered.IsZero() {
		i.s.meter.ran(i.rel.ProjectID, i.s.d.Now().Sub(i.metered).Seconds()*i.weight)
		i.metered = time.Time{}
	}
	i.mu.Unlock()
	if i.transport != nil {
		i.transport.CloseIdleConnections()
		i.fast.close()
	}
	if i.ws != nil {
		i.ws.Close()
	}
	if i.unbindDB != nil {
		i.unbindDB()
	}
	for _, r := range i.reps() {
		r.stop()
	}
}

// appDir is the release's files.
func (s *Service) appDir(rel store.Release) string {
	return filepath.Join(s.releaseDir(rel.ProjectID, rel.ID), "app")
}

// startInstance makes an instance of a built release and waits until it
// can serve (a server's process listens on its port).
func (s *Service) startInstance(ctx context.Context, rel store.Release) (*instance, error) {
	appDir := s.appDir(rel)
	if _, err := os.Stat(appDir); err != nil {
		return nil, ErrNotActivatable
	}
	cfg, err := releaseConfig(rel, appDir)
	if err != nil {
		return nil, err
	}
	inst := &instance{s: s, rel: rel, cfg: cfg, quit: make(chan struct{})}
	if rel.Kind == KindStatic {
		h, err := staticHandler(staticRoot(appDir, cfg))
		if err != nil {
			return nil, err
		}
		inst.static = h
		return inst, nil
	}
	sandboxID := "i-" + rel.ID + "-" + newID()[:6]
	inst.unbindDB = s.bindDB(sandboxID, rel.ProjectID)
	size := s.projectSize(ctx, rel.ProjectID)
	inst.weight = size.Weight
	inst.ws, err = s.d.Sandbox.Workspace(ctx, sandboxID, sandbox.Spec{Dir: appDir, UID: uidFor(rel.ProjectID),
		Limits: s.limits(size), Data: s.dataDir(rel.ProjectID)})
	if err != nil {
		inst.unbindDB()
		return nil, fmt.Errorf("open the production sandbox: %w", err)
	}
	inst.metered = s.d.Now()
	inst.lastUsed = inst.metered
	inst.transport = &http.Transport{
		DialContext:         func(ctx context.Context, _, _ string) (net.Conn, error) { return inst.dial(ctx) },
		MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second, ResponseHeaderTimeout: 5 * time.Minute,
	}
	inst.rp = inst.newProxy()
	inst.fast = newFastProxy(inst.dial, inst.proxyError, &s.buffers)
	if err := inst.startProcess(ctx); err != nil {
		inst.stop()
		return nil, err
	}
	if !s.spawn(inst.supervise) {
		inst.stop()
		return nil, sandbox.ErrClosed
	}
	return inst, nil
}

// dial connects to the app's port inside the instance's sandbox; a
// failure is a *dialError (the request never reached the app: safe to
// send again).
func (i *instance) dial(ctx context.Context) (net.Conn, error) {
	c, err := i.ws.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(i.cfg.Port)))
	if err != nil {
		return nil, &dialError{err}
	}
	return c, nil
}

// staticRoot is the folder a static release serves: the build's output
// folder when there is a build, else the project's files.
func staticRoot(appDir string, cfg runconfig.Config) string {
	if cfg.Build != "" {
		for _, d := range []string{"dist", "build", "out", "public"} {
			if fi, err := os.Stat(filepath.Join(appDir, d)); err == nil && fi.IsDir() {
				return filepath.Join(appDir, d)
			}
		}
	}
	return appDir
}

// startProcess starts the run command and waits until it listens.
func (i *instance) startProcess(ctx context.Context) error {
	s := i.s
	env, mask, err := s.d.Env(ctx, i.rel.ProjectID, "deploy", append(i.cfg.EnvList(), "ECODE_RUN="+i.cfg.Run, "NODE_ENV=production")...)
	if err != nil {
		return err
	}
	env = s.dbEnv(i.rel.ProjectID, env)
	out, err := openRotatingLog(filepath.Join(s.releaseDir(i.rel.ProjectID, i.rel.ID), "app.log"), s.opts.LogFileBytes)
	if err != nil {
		return err
	}
	sink := mask.Stream(&syncWriter{ws: []io.Writer{out}})
	proc, err := i.ws.Start(context.WithoutCancel(ctx), sandbox.Cmd{Args: []string{"/bin/sh", "-c", `exec sh -c "$ECODE_RUN"`},
		Env: env, Stdout: sink, Stderr: sink})
	if err != nil {
		out.Close()
		return fmt.Errorf("start the app: %w", err)
	}
	go func() { <-proc.Done(); sink.Flush(); out.Close() }()
	i.mu.Lock()
	i.proc = proc
	i.mu.Unlock()
	return i.waitListening(ctx, proc)
}

// waitListening dials the app's port until it answers, the process ends or
// the health timeout passes.
func (i *instance) waitListening(ctx context.Context, proc *sandbox.Process) error {
	deadline := time.NewTimer(i.s.opts.HealthTimeout)
	defer deadline.Stop()
	probe := time.NewTicker(50 * time.Millisecond)
	defer probe.Stop()
	for {
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		c, err := i.ws.DialContext(dctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(i.cfg.Port)))
		cancel()
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-proc.Done():
			res, _ := proc.Wait()
			why := fmt.Sprintf("the app exited with code %d before it listened on port %d", res.ExitCode, i.cfg.Port)
			if res.Reason != "" {
				why += " (" + res.Reason + ")"
			}
			return errors.New(why)
		case <-deadline.C:
			proc.Kill()
			return fmt.Errorf("the app did not listen on port %d within %s", i.cfg.Port, i.s.opts.HealthTimeout)
		case <-ctx.Done():
			proc.Kill()
			return ctx.Err()
		case <-probe.C:
		}
	}
}

// goLive starts a built release and switches traffic to it. check, when
// not nil, is asked just before the switch: its error leaves the
// deployment as it was.
func (s *Service) goLive(ctx context.Context, rel store.Release, check func(context.Context, store.Release) error) error {
	if rel.Kind == KindScheduled {
		if check != nil {
			if err := check(ctx, rel); err != nil {
				return err
			}
		}
		return s.activateScheduled(ctx, rel)
	}
	inst, err := s.startGroup(ctx, rel)
	if err != nil {
		return err
	}
	if check != nil {
		if err := check(ctx, rel); err != nil {
			inst.stop()
			return err
		}
	}
	return s.switchTo(ctx, inst)
}

// switchTo records inst's release as active, routes to it and drains the
// instance that served before.
func (s *Service) switchTo(ctx context.Context, inst *instance) error {
	dep, err := s.d.Store.DeploymentForProject(ctx, inst.rel.ProjectID)
	if err != nil {
		inst.stop()
		return err
	}
	if err := s.d.Store.ActivateRelease(ctx, inst.rel.ProjectID, inst.rel.ID, s.d.Now()); err != nil {
		inst.stop()
		return err
	}
	d := s.deployment(dep.ProjectID, dep.Slug)
	if d == nil {
		inst.stop()
		return ErrProjectStopped
	}
	if old := d.swap(inst); old != nil {
		if !s.spawn(func() { old.drain(s.opts.DrainTimeout) }) {
			old.stop()
		}
	}
	s.prune(ctx, inst.rel.ProjectID)
	s.notifyChanged()
	return nil
}

// deployment returns the in-memory deployment of a project, made on first
// use; nil once the project was stopped for good (StopProject).
func (s *Service) deployment(projectID, slug string) *deployment {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped[projectID] {
		return nil
	}
	d, ok := s.deps[projectID]
	if !ok {
		d = &deployment{projectID: projectID, slug: slug}
		s.deps[projectID] = d
		s.bySlug[slug] = projectID
	}
	return d
}

// Activate makes a kept release live again (rollback, or forward): it is
// started from its built files, health-checked, then traffic switches. The
// production data is left alone unless restoreData, which first replaces
// it with the release's data snapshot (ErrNoSnapshot without one).
func (s *Service) Activate(ctx context.Context, projectID, releaseID, userID string, restoreData bool) (store.Release, error) {
	rel, err := s.d.Store.ReleaseOf(ctx, projectID, releaseID)
	if err != nil {
		return rel, err
	}
	switch rel.Status {
	case StatusReady, StatusLive, StatusCrashing, StatusSuspended:
	default:
		return rel, ErrNotActivatable
	}
	if restoreData {
		if err := s.restoreData(ctx, rel); err != nil {
			return rel, err
		}
	}
	if err := s.goLive(ctx, rel, nil); err != nil {
		return rel, err
	}
	rel.Status = StatusLive
	if s.Notify != nil {
		s.Notify(ctx, userID, "deploy_rolled_back", "Deployment rolled back",
			"Release "+rel.ID+" of "+rel.CreatedAt.Format(time.RFC3339)+" is live again.", "/projects/"+projectID+"?pane=deployments")
	}
	return rel, nil
}
