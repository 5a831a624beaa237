// Package deploy publishes projects as deployments: each publish checkpoints
// the project and makes an immutable release of it, built in a fresh sandbox
// from the checkpoint (never the live workspace); the release then runs in
// production sandboxes of its own and is served by a host-based router on
// an origin apart from the IDE (<slug>.<apps domain>, or a custom domain
// through HostLookup). A new release goes live only once it listens
// (blue-green): the router switches to it and the old one drains. Any kept
// release can be activated again (rollback).
package deploy

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ecode/internal/checkpoint"
	"ecode/internal/cluster"
	"ecode/internal/sandbox"
	"ecode/internal/secrets"
	"ecode/internal/store"
)

// Kinds of deployment.
const (
	KindStatic = "static" // files served by E-Code (the build output, or the project)
	KindServer = "server" // a long-running process
	// KindAutoscale is a server stopped after IdleTimeout without requests
	// (its sandbox closed) and started again by the next request, which
	// the router holds until the app listens.
	KindAutoscale = "autoscale"
)

// Release statuses.
const (
	StatusBuilding = "building" // restoring the checkpoint and running install and build
	StatusStarting = "starting" // built; its instance starts and must listen
	StatusLive     = "live"     // serving
	StatusReady    = "ready"    // built and kept: can be activated (rollback)
	StatusFailed   = "failed"   // build failed or the app never listened: Reason says why
	StatusCrashing = "crashing" // live, but its process keeps exiting: restarted with backoff
)

// HostLookup maps a custom domain to the project deployed there (package
// domains implements it for verified domains).
type HostLookup interface {
	ProjectForHost(ctx context.Context, host string) (projectID string, ok bool)
}

// Checkpoints is what the service needs of the checkpoint timeline (package
// history): a new checkpoint of the project, and a recorded one.
type Checkpoints interface {
	Create(ctx context.Context, projectID, userID, trigger, message string) (store.Checkpoint, error)
	Get(ctx context.Context, projectID, id string) (store.Checkpoint, checkpoint.Checkpoint, error)
}

// Deps are the service's collaborators.
type Deps struct {
	Store       *store.Store
	Sandbox     sandbox.Runner
	Repo        *checkpoint.Repo
	Checkpoints Checkpoints
	// Env gives a process's environment: toolchain, project variables and
	// secrets, with the masker of the secrets (runner.Manager.ProcessEnv).
	Env func(ctx context.Context, projectID, use string, env ...string) ([]string, *secrets.Matcher, error)
	// Ignore is what checkpoints leave out (history.Ignore).
	Ignore []string
	Log    *slog.Logger
	Now    func() time.Time
	// Usage, when set, records bytes served and instance time (billing).
	Usage UsageRecorder
	// Requests, when set, is told of every request the router answered.
	Requests RequestObserver
	// CopyDevDB, when set, copies the project's development database into
	// the SQLite file dst; it also means deployments have a production
	// database of their own (SQLite project databases; unset with
	// PostgreSQL ones).
	CopyDevDB func(ctx context.Context, projectID, dst string) error
	// CopySQLite, when set, copies the SQLite database src into dst (a
	// consistent snapshot of src; dst, made if missing, replaced in one
	// transaction): releases' data snapshots of SQLite production databases.
	CopySQLite func(ctx context.Context, src, dst string) error
	// ProdDB, when set, gives deployments a production database on the
	// project database server (PostgreSQL project databases).
	ProdDB ProductionDB
	// Cluster, when set, places deployments on the nodes of a cluster
	// (cluster.go): each runs on the node holding its deployment lease.
	Cluster *cluster.Cluster
	// PlanMemory, when set, is the most memory (bytes) a sandbox of the
	// project's owner's plan may have (0: no cap): sizes above it are
	// refused (billing.Service.SandboxMemory).
	PlanMemory func(ctx context.Context, projectID string) int64
	// PlanCPU, when set, is the most CPU (cores) a deployment's size may
	// have on the project's owner's plan (0: no cap): sizes above it are
	// refused (billing.Service.SandboxCPU).
	PlanCPU func(ctx context.Context, projectID string) float64
}

// ProductionDB is a deployment's database on the project database server
// (projectdb.Manager with PostgreSQL project databases).
type ProductionDB interface {
	// CreateProduction makes it, empty or a copy of the development
	// database, unless it exists.
	CreateProduction(ctx context.Context, projectID string, copyDev bool) error
	ProductionExists(ctx context.Context, projectID string) (bool, error)
	// ProductionEnv is how a production sandbox's processes reach it.
	ProductionEnv(projectID string) []string
	// BindProduction lets the sandbox about to open as sandboxID reach it;
	// unbind once the sandbox closed.
	BindProduction(sandboxID, projectID string) (unbind func())
	// SnapshotProduction writes a consistent copy of it to w (compressed);
	// RestoreProduction replaces it with one.
	SnapshotProduction(ctx context.Context, projectID string, w io.Writer) error
	RestoreProduction(ctx context.Context, projectID string, r io.Reader) error
}

// Options configure the service.
type Options struct {
	Dir        string         // releases on disk: <Dir>/<project>/<release>
	AppsDomain string         // deployments answer at <slug>.<AppsDomain>
	Limits     sandbox.Limits // the ceiling of every sandbox, and the default size's limits
	// HealthTimeout is how long a new instance has to listen (default 60 s).
	HealthTimeout time.Duration
	// BuildTimeout caps install plus build (default 15 min).
	BuildTimeout time.Duration
	// DrainTimeout is how long an old release keeps serving the requests it
	// has after traffic switched (default 30 s).
	DrainTimeout time.Duration
	// RestartBackoff is the first wait before a crashed app is started
	// again; it doubles up to a minute (default 1 s).
	RestartBackoff time.Duration
	// LogFileBytes bounds a release's runtime log (default LogFileBytes;
	// the previous file is kept too).
	LogFileBytes int64
	// UsageFlush is how often bytes served and instance time are recorded
	// as usage events (default a minute).
	UsageFlush time.Duration
	// IdleTimeout is how long an autoscale deployment's instance may go
	// without requests before it is stopped (default 15 min).
	IdleTimeout time.Duration
	// ScheduleTick is how often scheduled deployments' due times are
	// looked at (default 10 s); ScheduleGrace how late a due time may still
	// start (default a minute; older ones are reported missed).
	ScheduleTick, ScheduleGrace time.Duration
	// RunTimeout caps a scheduled run (default an hour).
	RunTimeout time.Duration
	// KeepReleases is how many releases keep their files, the active one
	// included (default 10); older ones are pruned.
	KeepReleases int
	// RetryWait bounds how long a request that met a crashed instance
	// waits for another instance or the restart (default 10 s; retry.go).
	RetryWait time.Duration
}

// Service publishes, runs and routes deployments.
type Service struct {
	d    Deps
	opts Options
	// Hosts, when set, maps custom domains to projects (besides slug hosts).
	Hosts HostLookup
	// Notify, when set, is told when a deployment fails or is rolled back.
	Notify func(ctx context.Context, userID, kind, title, body, link string)
	// CreditsLeft, when set, says whether the project's owner still has
	// credits; asked at the moment a newly built release would go live
	// (false: the release fails, the live one stays).
	CreditsLeft func(ctx context.Context, projectID string) bool
	// Forward, with Deps.Cluster, serves an app's request on the node at
	// address (its deployment's owner) over the signed internal channel;
	// false, serving nothing, when r itself came from another node.
	Forward func(w http.ResponseWriter, r *http.Request, address string) bool

	mu      sync.Mutex
	deps    map[string]*deployment // by project id
	bySlug  map[string]string      // slug → project id
	stopped map[string]bool        // projects being deleted: never started again
	runs    map[string]runningRun  // scheduled runs in progress, by project id
	schedMu sync.Mutex             // one RunSchedules at a time
	closed  bool
	wg      sync.WaitGroup // builds, starts, drains, supervisors
	changed chan struct{}  // closed and replaced on every status change
	meter   *meter
	buffers buffers      // the router's copy buffers, shared by every instance's proxy
	raw     atomic.Int64 // requests the raw path answered (rawserve.go)
	ctx     context.Context
	cancel  context.CancelFunc
}

// New builds the service.
func New(d Deps, opts Options) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if opts.HealthTimeout <= 0 {
		opts.HealthTimeout = time.Minute
	}
	if opts.BuildTimeout <= 0 {
		opts.BuildTimeout = 15 * time.Minute
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = 30 * time.Second
	}
	if opts.LogFileBytes <= 0 {
		opts.LogFileBytes = LogFileBytes
	}
	if opts.RestartBackoff <= 0 {
		opts.RestartBackoff = time.Second
	}
	if opts.UsageFlush <= 0 {
		opts.UsageFlush = time.Minute
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 15 * time.Minute
	}
	if opts.ScheduleTick <= 0 {
		opts.ScheduleTick = 10 * time.Second
	}
	if opts.ScheduleGrace <= 0 {
		opts.ScheduleGrace = time.Minute
	}
	if opts.RunTimeout <= 0 {
		opts.RunTimeout = time.Hour
	}
	if opts.KeepReleases <= 0 {
		opts.KeepReleases = 10
	}
	if opts.RetryWait <= 0 {
		opts.RetryWait = 10 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Service{d: d, opts: opts, meter: newMeter(), deps: map[string]*deployment{}, bySlug: map[string]string{},
		stopped: map[string]bool{}, runs: map[string]runningRun{},
		changed: make(chan struct{}), ctx: ctx, cancel: cancel}
}

// Changed returns a channel closed at the next status change of any release.
func (s *Service) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

func (s *Service) notifyChanged() {
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// URL is the deployment's public address for a request that came in on
// port (the router shares the server's listener).
func (s *Service) URL(slug, scheme, port string) string {
	u := scheme + "://" + slug + "." + s.opts.AppsDomain
	if port != "" && !(scheme == "http" && port == "80") && !(scheme == "https" && port == "443") {
		u += ":" + port
	}
	return u
}

// AppsDomain is the domain deployments are served under.
func (s *Service) AppsDomain() string { return s.opts.AppsDomain }

// Release is a release as the API shows it.
type Release struct {
	ID           string    `json:"id"`
	Status       string    `json:"status"`
	Kind         string    `json:"kind"`
	Reason       string    `json:"reason,omitempty"`
	CheckpointID string    `json:"checkpoint_id"`
	CreatedBy    string    `json:"created_by"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	// DataSnapshot: the production database as it was at this publish is
	// kept, and activating the release can restore it.
	DataSnapshot bool `json:"data_snapshot"`
}

func releaseView(r store.Release) Release {
	return Release{ID: r.ID, Status: r.Status, Kind: r.Kind, Reason: r.Reason, CheckpointID: r.CheckpointID,
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// Status is a project's deployment as the API shows it (URL filled in by the caller).
type Status struct {
	Slug            string    `json:"slug"`
	Kind            string    `json:"kind"`
	Status          string    `json:"status"` // the active release's, or "none"
	ActiveReleaseID string    `json:"active_release_id"`
	Releases        []Release `json:"releases"`
	// Instances is how many instances serve now (0 for an autoscale
	// deployment scaled to zero: Asleep, it starts on the next request).
	Instances int  `json:"instances"`
	Asleep    bool `json:"asleep,omitempty"`
	// InstanceCount is how many instances a server or autoscale release runs.
	InstanceCount int `json:"instance_count"`
	// Schedule and NextRunAt: a scheduled deployment's cron schedule and
	// its next due time.
	Schedule  string     `json:"schedule,omitempty"`
	NextRunAt *time.Time `json:"next_run_at,omitempty"`
	// IdleTimeoutS is an autoscale deployment's idle timeout in seconds
	// (its own, else the server's); IdleTimeoutDefault: the server's.
	IdleTimeoutS       int  `json:"idle_timeout_s"`
	IdleTimeoutDefault bool `json:"idle_timeout_default"`
	// SecretsRestartedAt is when the instances last restarted with changed
	// production secrets; Restarting: the serving instances are being
	// replaced, by such a restart or, Resizing, by a change of size.
	SecretsRestartedAt *time.Time `json:"secrets_restarted_at,omitempty"`
	Restarting         bool       `json:"restarting"`
	Resizing           bool       `json:"resizing"`
	// Size is the size of its sandboxes, with its limits and weight.
	Size Size `json:"size"`
	// SecretsRestartError and SecretsRestartFailedAt: why and when the last
	// such restart failed (the instances before it kept serving); absent
	// once a later restart or publish succeeded. Kept in the store: the
	// same on every node and after the server restarts.
	SecretsRestartError    string     `json:"secrets_restart_error,omitempty"`
	SecretsRestartFailedAt *time.Time `json:"secrets_restart_failed_at,omitempty"`
	// ResizeError and ResizeFailedAt: why and when the last change of size
	// failed (the old instances kept serving at the old size); absent once
	// a size is set again. Kept in the store, like the above.
	ResizeError    string     `json:"resize_error,omitempty"`
	ResizeFailedAt *time.Time `json:"resize_failed_at,omitempty"`
}

// ErrNoDeployment means the project was never published.
var ErrNoDeployment = errors.New("deploy: the project has no deployment")

// Get returns the project's deployment and its releases, newest first.
func (s *Service) Get(ctx context.Context, projectID string) (Status, error) {
	// Whether a restart is under way is read before the row: a restart
	// records its outcome in the store before it stops restarting, so a
	// status that says it has stopped also shows that outcome.
	restarting, resizing := s.Restarting(projectID)
	d, err := s.d.Store.DeploymentForProject(ctx, projectID)
	if errors.Is(err, store.ErrNotFound) {
		return Status{}, ErrNoDeployment
	} else if err != nil {
		return Status{}, err
	}
	rs, err := s.d.Store.ListReleases(ctx, projectID)
	if err != nil {
		return Status{}, err
	}
	st := Status{Slug: d.Slug, Kind: d.Kind, Status: "none", ActiveReleaseID: d.ActiveReleaseID, Releases: []Release{}}
	for _, r := range rs {
		v := releaseView(r)
		v.DataSnapshot = s.hasSnapshot(r)
		st.Releases = append(st.Releases, v)
		if r.ID == d.ActiveReleaseID {
			st.Status = r.Status
		}
	}
	st.Instances, st.Asleep = s.running(projectID)
	st.InstanceCount = max(d.Instances, 1)
	st.IdleTimeoutS, st.IdleTimeoutDefault = int(d.IdleTimeout/time.Second), d.IdleTimeout <= 0
	if st.IdleTimeoutDefault {
		st.IdleTimeoutS = int(s.opts.IdleTimeout / time.Second)
	}
	if !d.SecretsRestartedAt.IsZero() {
		st.SecretsRestartedAt = &d.SecretsRestartedAt
	}
	st.Restarting, st.Resizing = restarting, resizing
	st.Size = s.projectSize(ctx, projectID)
	if d.SecretsRestartError != "" {
		st.SecretsRestartError, st.SecretsRestartFailedAt = d.SecretsRestartError, &d.SecretsRestartFailedAt
	}
	if d.ResizeError != "" {
		st.ResizeError, st.ResizeFailedAt = d.ResizeError, &d.ResizeFailedAt
	}
	if st.Schedule = d.Schedule; d.Kind == KindScheduled {
		if next := nextRun(d.Schedule, s.d.Now()); !next.IsZero() {
			st.NextRunAt = &next
		}
	}
	return st, nil
}

// ValidKind reports whether kind can be published.
func ValidKind(kind string) bool {
	return kind == KindStatic || kind == KindServer || kind == KindAutoscale || kind == KindScheduled
}

var slugUnsafe = regexp.MustCompile(`[^a-z0-9]+`)

// newSlug makes a host label from the project's name and a random suffix.
func newSlug(name string) string {
	base := strings.Trim(slugUnsafe.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if len(base) > 40 {
		base = strings.Trim(base[:40], "-")
	}
	if base == "" {
		base = "app"
	}
	return base + "-" + strings.ToLower(rand.Text()[:6])
}

func newID() string { return strings.ToLower(rand.Text()[:20]) }

// releaseDir is where a release's files and build log live.
func (s *Service) releaseDir(projectID, releaseID string) string {
	return filepath.Join(s.opts.Dir, projectID, releaseID)
}

// Close stops every instance and waits for the service's goroutines.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	ds := make([]*deployment, 0, len(s.deps))
	for _, d := range s.deps {
		ds = append(ds, d)
	}
	s.mu.Unlock()
	s.cancel()
	for _, d := range ds {
		if inst := d.swap(nil); inst != nil {
			inst.stop()
		}
	}
	s.wg.Wait()
	flushCtx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	s.FlushUsage(flushCtx) // the last bytes and the stopped instances' time
	return nil
}

// ErrProjectStopped means the project's deployment was stopped for good
// (the project is being deleted).
var ErrProjectStopped = errors.New("deploy: the project is being deleted")

// StopProject ends a project's deployment at once, as the project is
// deleted: its host stops routing, the serving instance is stopped without
// draining, no release of it starts again in this process (a build in
// flight is refused at the switch), and its release files are removed.
// The rows go with the project's. Deleting again is harmless.
func (s *Service) StopProject(projectID string) error {
	s.mu.Lock()
	s.stopped[projectID] = true
	if r, ok := s.runs[projectID]; ok {
		r.cancel() // its sandbox closes; the run is recorded as stopped
	}
	d := s.deps[projectID]
	delete(s.deps, projectID)
	if d != nil {
		delete(s.bySlug, d.slug)
	}
	s.mu.Unlock()
	if d != nil {
		if inst := d.swap(nil); inst != nil {
			inst.stop()
		}
	}
	s.notifyChanged()
	return os.RemoveAll(filepath.Join(s.opts.Dir, projectID))
}

// uidFor gives a project's production sandboxes a uid of their own, apart
// from the development sandbox's, in [1000000+2^24, 1000000+2^25).
func uidFor(projectID string) int {
	var h uint32 = 2166136261
	for i := 0; i < len(projectID); i++ {
		h = (h ^ uint32(projectID[i])) * 16777619
	}
	return 1_000_000 + 1<<24 + int(h&(1<<24-1))
}

// removeRelease deletes a release's files (a failed build's).
func (s *Service) removeRelease(projectID, releaseID string) {
	os.RemoveAll(s.releaseDir(projectID, releaseID))
}

func (s *Service) fail(ctx context.Context, rel store.Release, reason string) {
	s.d.Log.Warn("deployment release failed", "project_id", rel.ProjectID, "release_id", rel.ID, "reason", reason)
	if err := s.d.Store.SetReleaseStatus(ctx, rel.ID, StatusFailed, reason, s.d.Now()); err != nil {
		s.d.Log.Error("record failed release", "release_id", rel.ID, "err", err)
	}
	s.notifyChanged()
	if s.Notify != nil {
		s.Notify(ctx, rel.CreatedBy, "deploy_failed", "Deployment failed", reason, fmt.Sprintf("/projects/%s?pane=deployments", rel.ProjectID))
	}
}
