package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// dirFiles is Files on a temp dir, confined with os.Root.
type dirFiles struct{ root *os.Root }

func newDirFiles(t testing.TB) (*dirFiles, string) {
	dir := t.TempDir()
	r, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return &dirFiles{r}, dir
}

func (d *dirFiles) ReadFile(_ context.Context, p string) ([]byte, error) { return d.root.ReadFile(p) }
func (d *dirFiles) WriteFile(_ context.Context, p string, b []byte) error {
	if dir := filepath.Dir(p); dir != "." {
		if err := d.root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return d.root.WriteFile(p, b, 0o644)
}
func (d *dirFiles) Walk(_ context.Context, dir string, fn func(string, bool, int64) error) error {
	return fs.WalkDir(d.root.FS(), dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var size int64
		if info, err := e.Info(); err == nil {
			size = info.Size()
		}
		return fn(p, e.IsDir(), size)
	})
}

// execShell runs commands with sh in the project dir. onExec runs first
// (tests use it to move a fake clock).
type execShell struct {
	dir    string
	onExec func()
	mu     sync.Mutex
	cmds   []string
}

func (s *execShell) Exec(ctx context.Context, command string, timeout time.Duration) (ExecResult, error) {
	s.mu.Lock()
	s.cmds = append(s.cmds, command)
	s.mu.Unlock()
	if s.onExec != nil {
		s.onExec()
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := exec.CommandContext(ctx, "sh", "-c", command)
	c.Dir = s.dir
	c.WaitDelay = 100 * time.Millisecond
	out, err := c.CombinedOutput()
	res := ExecResult{Output: string(out)}
	var ee *exec.ExitError
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		res.TimedOut = true
	case errors.As(err, &ee):
		res.ExitCode = ee.ExitCode()
	case err != nil:
		return res, err
	}
	return res, nil
}

// dirApp "runs" the project by serving its folder over HTTP.
type dirApp struct {
	dir  string
	mu   sync.Mutex
	srv  *httptest.Server
	logs []string
}

func (a *dirApp) Control(_ context.Context, action string) (AppStatus, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.srv != nil && (action == "stop" || action == "restart") {
		a.srv.Close()
		a.srv = nil
		a.logs = append(a.logs, "stopped")
	}
	if action == "start" || action == "restart" {
		if a.srv == nil {
			fsrv := http.FileServer(http.Dir(a.dir))
			a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				a.mu.Lock()
				a.logs = append(a.logs, "GET "+r.URL.Path)
				a.mu.Unlock()
				fsrv.ServeHTTP(w, r)
			}))
			a.logs = append(a.logs, "listening on "+a.srv.URL)
		}
		return AppStatus{Running: true, URL: a.srv.URL}, nil
	}
	return AppStatus{}, nil
}

func (a *dirApp) Logs(_ context.Context, tail int) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	l := a.logs
	if len(l) > tail {
		l = l[len(l)-tail:]
	}
	return strings.Join(l, "\n"), nil
}

func (a *dirApp) Preview(ctx context.Context, p string) (PreviewResult, error) {
	a.mu.Lock()
	srv := a.srv
	a.mu.Unlock()
	if srv == nil {
		return PreviewResult{}, errors.New("app is not running")
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+p, nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		return PreviewResult{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return PreviewResult{Status: resp.StatusCode, ContentType: resp.Header.Get("content-type"), Body: string(b)}, nil
}

func (a *dirApp) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.srv != nil {
		a.srv.Close()
	}
}

type fakePackages struct{ installed []string }

func (p *fakePackages) Install(_ context.Context, m string, pk []string) (string, error) {
	p.installed = append(p.installed, pk...)
	return fmt.Sprintf("added %d packages", len(pk)), nil
}

type fakeDB struct{ queries []string }

func (d *fakeDB) Query(_ context.Context, q string, w bool) (string, error) {
	d.queries = append(d.queries, q)
	return "id | title\n1 | hello", nil
}

type secretSet map[string]string

func (s secretSet) SecretNames(context.Context) ([]string, error) {
	var n []string
	for k := range s {
		n = append(n, k)
	}
	return n, nil
}
func (s secretSet) Redact(x string) string {
	for k, v := range s {
		x = strings.ReplaceAll(x, v, "[secret "+k+"]")
	}
	return x
}

type fakeCheckpoints struct {
	labels []string
	costs  []TurnCost
}

func (c *fakeCheckpoints) Checkpoint(_ context.Context, label string, cost TurnCost) (string, error) {
	c.labels = append(c.labels, label)
	c.costs = append(c.costs, cost)
	return fmt.Sprintf("cp%d", len(c.labels)), nil
}

type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) Emit(e Event) { r.mu.Lock(); r.events = append(r.events, e); r.mu.Unlock() }
func (r *recorder) of(t EventType) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Event
	for _, e := range r.events {
		if e.Type == t {
			out = append(out, e)
		}
	}
	return out
}

// project bundles a test project's fakes.
type project struct {
	dir   string
	files *dirFiles
	shell *execShell
	app   *dirApp
	pkgs  *fakePackages
	db    *fakeDB
	sec   secretSet
	cps   *fakeCheckpoints
	rec   *recorder
	clock *FakeClock
}

func newProject(t testing.TB) *project {
	f, dir := newDirFiles(t)
	p := &project{dir: dir, files: f, shell: &execShell{dir: dir}, app: &dirApp{dir: dir}, pkgs: &fakePackages{}, db: &fakeDB{},
		sec: secretSet{"API_TOKEN": "s3cr3t-value-42"}, cps: &fakeCheckpoints{}, rec: &recorder{}, clock: NewFakeClock(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))}
	t.Cleanup(p.app.close)
	return p
}

func (p *project) env() Env {
	return Env{Files: p.files, Shell: p.shell, App: p.app, Packages: p.pkgs, DB: p.db, Secrets: p.sec, Redactor: p.sec, Checkpoints: p.cps}
}

func (p *project) config(prov Provider) Config {
	return Config{Provider: prov, Env: p.env(), Sink: p.rec, Clock: p.clock}
}

func mustJSONt(v any) []byte { b, _ := json.Marshal(v); return b }
