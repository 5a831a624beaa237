// Package testutil builds real stores and servers for tests: every engine
// (SQLite always; PostgreSQL from ECODE_TEST_POSTGRES_URL, required in CI),
// each test in its own database or schema so tests run in parallel.
package testutil

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"ecode/internal/agent"
	"ecode/internal/agentrun"
	"ecode/internal/api"
	"ecode/internal/auth"
	"ecode/internal/checkpoint"
	"ecode/internal/client"
	"ecode/internal/dbproxy"
	"ecode/internal/history"
	"ecode/internal/runner"
	"ecode/internal/sandbox"
	"ecode/internal/store"
	"ecode/internal/telemetry"
	"ecode/internal/testutil/testdb"
	"ecode/internal/workspace"
	"ecode/ui"
)

// PostgresURLEnv names the variable holding the PostgreSQL server for tests.
const PostgresURLEnv = testdb.PostgresURLEnv

// ForEachEngine runs fn as a parallel subtest per engine, with a fresh store
// (see package testdb).
func ForEachEngine(t *testing.T, fn func(t *testing.T, st *store.Store)) { testdb.ForEachEngine(t, fn) }

// NewStore returns a migrated, empty store on engine (see package testdb).
func NewStore(t testing.TB, engine store.Engine) *store.Store { return testdb.NewStore(t, engine) }

// Server is a running API server for a test.
type Server struct {
	URL     string
	Store   *store.Store
	API     *api.Server
	Runner  *runner.Manager
	History *history.Service
	Auth    *auth.Service
	Clock   *Clock
	Dir     string // the data dir
}

// ServerOptions adjust NewServer.
type ServerOptions struct {
	Options api.Options
	// Volumes, when set, gives every project a disk limit.
	Volumes workspace.Volumes
	// ProjectPostgres, when set, gives every project a PostgreSQL database
	// (reached from sandboxes through package dbproxy) instead of SQLite.
	ProjectPostgres *checkpoint.PostgresServer
	// Agent, when set, builds the server's agent from the deps it is given
	// (the caller picks the provider config and may add to the deps).
	Agent func(deps agentrun.Deps) *agentrun.Service
	// Logs, when set, receives the server's log (debug level).
	Logs io.Writer
}

// NewServer starts a real API server on st (a real router, store and file
// system) and returns it; it stops at the end of the test.
func NewServer(t testing.TB, st *store.Store, opt ...ServerOptions) *Server {
	t.Helper()
	clock := NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	au, err := auth.NewService(st, clock.Now, 72*time.Hour, 30*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := TraversableTempDir(t)
	var vols workspace.Volumes
	if len(opt) > 0 {
		vols = opt[0].Volumes
	}
	files, err := workspace.New(filepath.Join(dir, "projects"), vols)
	if err != nil {
		t.Fatal(err)
	}
	opts := api.Options{Version: "test", SessionMax: 30 * 24 * time.Hour, SignupOpen: true,
		MaxFileBytes: 1 << 20, MaxUploadBytes: 4 << 20, TreePoll: 20 * time.Millisecond}
	if len(opt) > 0 && opt[0].Options.Version != "" {
		opts = opt[0].Options
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if len(opt) > 0 && opt[0].Logs != nil {
		log = slog.New(slog.NewTextHandler(opt[0].Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	var hist *history.Service
	runOpts := runner.Options{
		ProjectEnv: func(id string) []string { return hist.Env(id) },
		Limits:     sandbox.Limits{MemoryBytes: 1 << 30, CPU: 1, MaxProcs: 256, TmpBytes: 256 << 20, WallTime: time.Minute},
		Now:        time.Now, Log: log,
	}
	var pg *checkpoint.PostgresServer
	if len(opt) > 0 {
		pg = opt[0].ProjectPostgres
	}
	var setup func(context.Context, string, *os.File) error
	if pg != nil {
		u, err := url.Parse(pg.AdminURL)
		if err != nil {
			t.Fatal(err)
		}
		dbp := dbproxy.New(u.Host, func(id string) (string, string) {
			name := pg.Project(id).Name
			return name, name
		}, sandbox.ListenInNetns, log)
		t.Cleanup(dbp.Close)
		setup, runOpts.OnStop = dbp.Setup, dbp.Forget
	}
	runs := runner.New(newSandbox(t, setup), files, st, runOpts)
	objects, err := checkpoint.NewDirStore(filepath.Join(dir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	repo := checkpoint.NewRepo(objects)
	t.Cleanup(func() { repo.Close() })
	hist = history.New(st, repo, files, runs, clock.Now)
	if pg != nil {
		hist.UsePostgres(pg)
	}
	var ag *agentrun.Service
	if len(opt) > 0 && opt[0].Agent != nil {
		ag = opt[0].Agent(agentrun.Deps{Store: st, Files: files, Runner: runs, Log: log,
			Checkpoint: func(ctx context.Context, projectID, userID, label string, cost agent.TurnCost) (string, error) {
				cp, err := hist.CreateWithCost(ctx, projectID, userID, "agent", label, cost.Tokens, cost.Time)
				return cp.ID, err
			}})
	}
	srv := api.New(api.Deps{History: hist, Agent: ag, Metrics: telemetry.New(), Store: st, Auth: au, Files: files, Runner: runs, UI: ui.FS(), Log: log, Now: clock.Now}, opts)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		if ag != nil {
			ag.Close()
		}
		runs.Close()
	})
	return &Server{URL: hs.URL, Store: st, API: srv, Runner: runs, History: hist, Auth: au, Clock: clock, Dir: dir}
}

// NewSandbox returns a local bubblewrap runner private to the test (its own
// state dir and cgroup prefix), closed at the end of the test.
func NewSandbox(t testing.TB) sandbox.Runner { return newSandbox(t, nil) }

func newSandbox(t testing.TB, setup func(context.Context, string, *os.File) error) sandbox.Runner {
	b := make([]byte, 4)
	rand.Read(b)
	sb := sandbox.NewLocal(sandbox.Options{StateDir: TraversableTempDir(t), CgroupPrefix: "ecode-test-" + hex.EncodeToString(b),
		NetworkSetup: setup})
	t.Cleanup(func() { sb.Close() })
	return sb
}

// TraversableTempDir is t.TempDir() with it and its parent made searchable
// by other users, as sandboxes (running as their own uids) need for the
// project and state directories below it.
func TraversableTempDir(t testing.TB) string {
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// RequireSandbox skips the test when bubblewrap cannot run code here,
// unless ECODE_REQUIRE_SANDBOX is set (as in CI), where it fails instead.
func RequireSandbox(t testing.TB, sb sandbox.Runner) {
	t.Helper()
	if err := sb.Check(); err != nil {
		if os.Getenv("ECODE_REQUIRE_SANDBOX") != "" {
			t.Fatalf("sandbox required but unusable: %v", err)
		}
		t.Skipf("sandbox unusable here (%v); install bubblewrap and run as root", err)
	}
}

// Client returns a new client (its own cookie jar) for the server.
func (s *Server) Client() *client.Client { return client.New(s.URL) }

// User signs up a new account and returns a client signed in as it.
func (s *Server) User(t testing.TB, name string) *client.Client {
	t.Helper()
	c := s.Client()
	if _, err := c.Signup(context.Background(), name+"@example.test", "correct horse battery", name); err != nil {
		t.Fatalf("sign up %s: %v", name, err)
	}
	return c
}

// Clock is a fake clock for tests.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
