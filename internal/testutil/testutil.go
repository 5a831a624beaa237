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
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"ecode/internal/app"
	"ecode/internal/client"
	"ecode/internal/config"
	"ecode/internal/projects"
	"ecode/internal/sandbox"
	"ecode/internal/store"
	"ecode/internal/testutil/testdb"
)

// PostgresURLEnv names the variable holding the PostgreSQL server for tests.
const PostgresURLEnv = testdb.PostgresURLEnv

// ForEachEngine runs fn as a parallel subtest per engine, with a fresh store
// (see package testdb).
func ForEachEngine(t *testing.T, fn func(t *testing.T, st *store.Store)) { testdb.ForEachEngine(t, fn) }

// NewStore returns a migrated, empty store on engine (see package testdb).
func NewStore(t testing.TB, engine store.Engine) *store.Store { return testdb.NewStore(t, engine) }

// Server is a running server for a test: the same object graph `ecode
// serve` runs (app.Build), on a store of the test's engine, a data dir of
// its own and a fake clock.
type Server struct {
	*app.Server
	URL string
	// HTTPSURL is the HTTPS listener's (ServerOptions.Config sets HTTPSAddr), or "".
	HTTPSURL string
	Clock    *Clock
	Dir      string // the data dir
	// InternalURL is the internal listener's (a node of several: the
	// configuration sets InternalAddr), or "".
	InternalURL string

	kill, pause func()
}

// Kill takes the node off the network at once, as if its process were
// killed: its listeners and open connections close, nothing is handed
// over (its leases stay until they expire). The rest stops with the test.
func (s *Server) Kill() { s.kill() }

// Pause makes the node's internal listener as a paused host's (SIGSTOP)
// or a partitioned one's: its connections stay open and nothing more goes
// through them (reads and writes wait until they are closed); new ones are
// accepted by the kernel and never answered. The node itself runs on, its
// heartbeat included on its own clock (which the test does not move): the
// other nodes judge it silent once their clocks move on. It ends with Kill
// or the test.
func (s *Server) Pause() { s.pause() }

// ServerOptions adjust NewServer.
type ServerOptions struct {
	// Config, when set, changes the test's configuration before the server
	// is built (e.g. ProjectDisk for volumes, ProjectDBURL for PostgreSQL
	// project databases, the agent's provider, DevLogin, MetricsToken).
	Config func(*config.Config)
	// Logs, when set, receives the server's log (debug level).
	Logs io.Writer
	// Dir, when set, is the data dir (a second server on the data of a
	// first, as after a crash); otherwise a new one.
	Dir string
	// Built, when set, adjusts the server after app.Build, before it runs
	// (e.g. callbacks such as Domains.Notify).
	Built func(*app.Server)
	// DeleteStep is passed to app.Deps (fault injection in deletions).
	DeleteStep func(projectID string, step projects.DeleteStep) error
	// JobClock, when set, is the job queue's clock (app.Deps.JobClock).
	JobClock func() time.Time
	// JobRescueAfter is passed to app.Deps (a killed process's jobs run again sooner).
	JobRescueAfter time.Duration
	// Spans, when set, receives every span the server makes (e.g.
	// tracetest.NewInMemoryExporter()), as each ends.
	Spans sdktrace.SpanExporter
	// WrapSandbox is passed to app.Deps (tests: the specs workspaces open with).
	WrapSandbox func(sandbox.Runner) sandbox.Runner
}

// NewServer builds the server with app.Build on st and serves it; it stops
// at the end of the test.
func NewServer(t testing.TB, st *store.Store, opt ...ServerOptions) *Server {
	t.Helper()
	var o ServerOptions
	if len(opt) > 0 {
		o = opt[0]
	}
	dir := o.Dir
	if dir == "" {
		dir = TraversableTempDir(t)
	}
	cfg := TestConfig(t, dir)
	if o.Config != nil {
		o.Config(cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if o.Logs != nil {
		log = slog.New(slog.NewTextHandler(o.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	var internal net.Listener
	if cfg.InternalAddr != "" { // a node of several: its address is advertised, so listen first
		var err error
		if internal, err = net.Listen("tcp", cfg.InternalAddr); err != nil {
			t.Fatal(err)
		}
		cfg.InternalAddr = internal.Addr().String()
	}
	clock := NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	srv, err := app.Build(context.Background(), cfg, app.Deps{Store: st, Log: log, Now: clock.Now, DeleteStep: o.DeleteStep, JobClock: o.JobClock, JobRescueAfter: o.JobRescueAfter, Spans: o.Spans,
		WrapSandbox: o.WrapSandbox})
	if err != nil {
		t.Fatal(err)
	}
	if o.Built != nil {
		o.Built(srv)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Run(ctx)
	}()
	hs := httptest.NewUnstartedServer(srv.Handler())
	public := &killable{Listener: hs.Listener}
	hs.Listener = srv.AppListener(public)
	hs.Start()
	httpsURL := serveHTTPS(t, srv, cfg, log)
	listeners := []*killable{public}
	internalURL := ""
	if internal != nil {
		is := httptest.NewUnstartedServer(srv.API.InternalHandler())
		is.Listener.Close()
		k := &killable{Listener: internal, paused: make(chan struct{})}
		is.Listener = k
		is.Start()
		t.Cleanup(is.Close)
		listeners, internalURL = append(listeners, k), is.URL
	}
	kill := func() {
		for _, l := range listeners {
			l.kill()
		}
	}
	t.Cleanup(func() {
		kill()
		hs.Close()
		srv.Agent.Close()
		stop()
		<-done
		if err := srv.Close(); err != nil {
			t.Logf("close server: %v", err)
		}
	})
	pause := func() {
		for _, l := range listeners {
			l.pause()
		}
	}
	return &Server{Server: srv, URL: hs.URL, HTTPSURL: httpsURL, Clock: clock, Dir: dir, InternalURL: internalURL, kill: kill, pause: pause}
}

// serveHTTPS serves the HTTPS listener (custom domains) when the test's
// configuration sets --https-addr, until the end of the test; it returns
// the listener's URL.
func serveHTTPS(t testing.TB, srv *app.Server, cfg *config.Config, log *slog.Logger) string {
	if cfg.HTTPSAddr == "" {
		return ""
	}
	ln, err := net.Listen("tcp", cfg.HTTPSAddr)
	if err != nil {
		t.Fatal(err)
	}
	hs, ln := srv.HTTPSServer(ln, log)
	go hs.ServeTLS(ln, "", "")
	t.Cleanup(func() { hs.Close() })
	return "https://" + ln.Addr().String()
}

// TestConfig is the configuration of test servers: data in dir, sandboxes
// with small limits, no project volumes, the file tree polled every 20 ms,
// and nothing taken from the environment.
func TestConfig(t testing.TB, dir string) *config.Config {
	t.Helper()
	cfg, err := config.Load("test", []string{"--data-dir", dir, "--addr", "127.0.0.1:0", "--project-disk", "0",
		"--sandbox-memory", "1073741824", "--sandbox-procs", "256", "--max-file-bytes", "1048576",
		"--max-upload-bytes", "4194304", "--tree-poll", "20ms"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
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

// killable is a listener that can drop every connection it accepted at
// once, WebSockets (hijacked) included, as a killed process would; one
// made with paused can also stop them dead, as a paused host would.
type killable struct {
	net.Listener
	paused chan struct{} // closed when paused; nil: the listener does not pause
	mu     sync.Mutex
	conns  []net.Conn
	killed bool
	halted bool
}

func (k *killable) Accept() (net.Conn, error) {
	c, err := k.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if k.paused != nil {
		c = &pausable{Conn: c, paused: k.paused, closed: make(chan struct{})}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.killed {
		c.Close()
	} else {
		k.conns = append(k.conns, c)
	}
	return c, nil
}

func (k *killable) kill() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.killed = true
	k.Listener.Close()
	for _, c := range k.conns {
		c.Close()
	}
	k.conns = nil
}

func (k *killable) pause() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.paused != nil && !k.halted {
		k.halted = true
		close(k.paused)
	}
}

// pausable is a connection that stops dead once paused: reads and writes
// wait until it is closed.
type pausable struct {
	net.Conn
	paused <-chan struct{}
	once   sync.Once
	closed chan struct{}
}

func (c *pausable) halt() error {
	select {
	case <-c.paused:
		<-c.closed
		return net.ErrClosed
	default:
		return nil
	}
}

func (c *pausable) Read(p []byte) (int, error) {
	if err := c.halt(); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *pausable) Write(p []byte) (int, error) {
	if err := c.halt(); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

func (c *pausable) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
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
