package app

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"ecode/internal/client"
	"ecode/internal/config"
	"ecode/internal/testutil/testdb"
)

// TestServerChild is the server process of the tests that kill a server:
// it serves the data directory named in ECODE_TEST_SERVER_CHILD until it
// is killed, after printing its address.
func TestServerChild(t *testing.T) {
	dir := os.Getenv("ECODE_TEST_SERVER_CHILD")
	if dir == "" {
		t.Skip("only run as a child process of the server crash tests")
	}
	args := []string{"--addr", "127.0.0.1:0", "--data-dir", dir, "--project-disk", "0", "--sandbox", "none"}
	args = append(args, strings.Fields(os.Getenv("ECODE_TEST_SERVER_ARGS"))...)
	cfg, err := config.Load("test", args, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		fmt.Printf("LISTENING %s\n", <-ready)
	}()
	if err := Serve(context.Background(), cfg, slog.New(slog.NewTextHandler(os.Stderr, nil)), ready); err != nil {
		t.Fatal(err)
	}
}

// serverProcess is a real server in a child process.
type serverProcess struct {
	cmd  *exec.Cmd
	addr string
	out  *bytes.Buffer
}

// startServer starts a server on dataDir and waits until it listens.
func startServer(t *testing.T, dataDir string, args ...string) *serverProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestServerChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "ECODE_TEST_SERVER_CHILD="+dataDir, "ECODE_TEST_SERVER_ARGS="+strings.Join(args, " "))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &serverProcess{cmd: cmd, out: &bytes.Buffer{}}
	cmd.Stderr = p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.kill)
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "LISTENING "); ok {
			p.addr = a
			go io.Copy(io.Discard, stdout)
			return p
		}
	}
	cmd.Wait()
	t.Fatalf("server did not start:\n%s", p.out.String())
	return nil
}

// kill sends SIGKILL and waits for the process to end.
func (p *serverProcess) kill() {
	if p.cmd.ProcessState != nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
}

func (p *serverProcess) client() *client.Client { return client.New("http://" + p.addr) }

// crashProject is a project with two checkpointed versions: every file
// and the database row say which one.
type crashProject struct {
	dataDir, id string
	v1          string // checkpoint id of version 1
}

const crashFiles = 400

func (cp *crashProject) files() string { return filepath.Join(cp.dataDir, "projects", cp.id, "files") }

// writeVersion makes every file (and the database row) say v.
func (cp *crashProject) writeVersion(t *testing.T, v string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(cp.files(), "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range crashFiles {
		if err := os.WriteFile(filepath.Join(cp.files(), "d", fmt.Sprintf("f%d", i)), []byte(v+strings.Repeat(".", i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(cp.files(), "marker.txt"), []byte(v), 0o644)
	db := cp.db(t)
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS version (v TEXT); DELETE FROM version; INSERT INTO version VALUES (?)`, v); err != nil {
		t.Fatal(err)
	}
}

func (cp *crashProject) db(t *testing.T) *sql.DB {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(cp.files(), ".ecode/data.db"))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// version is the one version the whole project is at; a mix fails the test.
func (cp *crashProject) version(t *testing.T) string {
	t.Helper()
	seen := map[string][]string{}
	for i := range crashFiles {
		name := fmt.Sprintf("d/f%d", i)
		b, err := os.ReadFile(filepath.Join(cp.files(), name))
		v, _, _ := strings.Cut(string(b), ".")
		if err != nil {
			v = "missing"
		}
		seen[v] = append(seen[v], name)
	}
	b, _ := os.ReadFile(filepath.Join(cp.files(), "marker.txt"))
	seen[string(b)] = append(seen[string(b)], "marker.txt")
	db := cp.db(t)
	defer db.Close()
	var row string
	if err := db.QueryRow(`SELECT v FROM version`).Scan(&row); err != nil {
		row = "db: " + err.Error()
	}
	seen[row] = append(seen[row], "database")
	if len(seen) != 1 {
		summary := map[string]string{}
		for v, names := range seen {
			summary[v] = fmt.Sprintf("%d, e.g. %v", len(names), names[:min(len(names), 3)])
		}
		t.Fatalf("the project is a mix of versions: %v", summary)
	}
	for v := range seen {
		return v
	}
	return ""
}

func checkpointNow(t *testing.T, ctx context.Context, c *client.Client, projectID, msg string) string {
	t.Helper()
	var out struct{ ID string }
	body := strings.NewReader(fmt.Sprintf(`{"message":%q}`, msg))
	if err := c.Do(ctx, "POST", "/api/projects/"+projectID+"/checkpoints", body, "application/json", &out); err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	return out.ID
}

// restoreEvents starts a restore with progress streaming and calls fn with
// each event until fn returns true or the stream ends.
func restoreEvents(ctx context.Context, c *client.Client, projectID, cid string, fn func(event, data string) bool) error {
	req, err := http.NewRequestWithContext(ctx, "POST", c.BaseURL+"/api/projects/"+projectID+"/checkpoints/"+cid+"/restore", strings.NewReader("{}"))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("restore: %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	var event string
	for sc.Scan() {
		line := sc.Text()
		if e, ok := strings.CutPrefix(line, "event: "); ok {
			event = e
		} else if d, ok := strings.CutPrefix(line, "data: "); ok && fn(event, d) {
			return nil
		}
	}
	return sc.Err()
}

// killPoint is where a test kills the server during a restore: at the
// first progress event matching phase (and done == total when full),
// after delay.
type killPoint struct {
	phase string
	full  bool
	delay time.Duration
}

func (k killPoint) String() string {
	return fmt.Sprintf("%s-full=%v+%s", k.phase, k.full, k.delay)
}

// TestRestoreKilledOverHTTP restores a checkpoint over HTTP with progress
// streaming and kills the server (kill -9) at each progress phase, some
// milliseconds into applying the files too; after a restart the project is
// wholly one version (files and database) before anything is served, and
// an edit made then survives the next checkpoint.
func TestRestoreKilledOverHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills server processes")
	}
	points := []killPoint{
		{phase: "checkpoint", full: true}, {phase: "stop", full: true}, {phase: "files"},
		{phase: "files", full: true}, {phase: "files", full: true, delay: 2 * time.Millisecond},
		{phase: "files", full: true, delay: 8 * time.Millisecond}, {phase: "files", full: true, delay: 20 * time.Millisecond},
		{phase: "database"}, {phase: "result"},
	}
	forEachEngine(t, func(t *testing.T, args []string) {
		sawOld, sawNew := false, false
		for i, kp := range points {
			t.Run(kp.String(), func(t *testing.T) {
				got := restoreKilledAt(t, kp, args, fmt.Sprintf("ada%d@example.test", i))
				sawOld, sawNew = sawOld || got == "v2", sawNew || got == "v1"
			})
		}
		if !sawOld || !sawNew {
			t.Errorf("rolled back %v, rolled forward %v: the kills did not land on both sides of the commit", sawOld, sawNew)
		}
	})
}

// forEachEngine runs fn with the server arguments of each database
// engine: SQLite in the data directory, and a PostgreSQL schema of its own.
func forEachEngine(t *testing.T, fn func(t *testing.T, args []string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, nil) })
	t.Run("postgres", func(t *testing.T) { fn(t, []string{"--database-url", testdb.PostgresURL(t)}) })
}

// restoreKilledAt runs one kill and returns the version the project is at
// after the restart (v1: the restore finished, v2: it did not happen). The
// account is email (the servers of one engine share its database).
func restoreKilledAt(t *testing.T, kp killPoint, args []string, email string) string {
	ctx := context.Background()
	dataDir := t.TempDir()
	srv := startServer(t, dataDir, args...)
	c := srv.client()
	if _, err := c.Signup(ctx, email, "correct horse battery", "Ada"); err != nil {
		t.Fatal(err)
	}
	p, err := c.CreateProject(ctx, "crash", "blank")
	if err != nil {
		t.Fatal(err)
	}
	proj := &crashProject{dataDir: dataDir, id: p.ID}
	proj.writeVersion(t, "v1")
	proj.v1 = checkpointNow(t, ctx, c, p.ID, "v1")
	proj.writeVersion(t, "v2")
	killed := false
	err = restoreEvents(ctx, c, p.ID, proj.v1, func(event, data string) bool {
		var pr struct {
			Phase       string
			Done, Total int
		}
		json.Unmarshal([]byte(data), &pr)
		if event == kp.phase || event == "progress" && pr.Phase == kp.phase && (!kp.full || pr.Done == pr.Total && pr.Total > 0) {
			if kp.delay > 0 {
				time.Sleep(kp.delay) // the kill lands while the server works on: the point of the test
			}
			srv.kill()
			killed = true
			return true
		}
		if event == "error" {
			t.Errorf("restore failed: %s", data)
		}
		return false
	})
	if !killed {
		t.Fatalf("the restore never reached %s (%v)", kp, err)
	}
	srv = startServer(t, dataDir, args...)
	// Recovered before the server listened: the files on disk and the
	// database are one version.
	v := proj.version(t)
	c = srv.client()
	if _, err := c.Login(ctx, email, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	if b, err := c.ReadFile(ctx, p.ID, "marker.txt"); err != nil || string(b) != v {
		t.Fatalf("marker.txt served as %q, %v; the files are at %s", b, err, v)
	}
	// An edit now is kept by the next checkpoint, and by a restart.
	if err := c.WriteFile(ctx, p.ID, "d/f7", []byte("edited")); err != nil {
		t.Fatal(err)
	}
	checkpointNow(t, ctx, c, p.ID, "after the crash")
	if b, err := c.ReadFile(ctx, p.ID, "d/f7"); err != nil || string(b) != "edited" {
		t.Fatalf("the edit after recovery became %q, %v", b, err)
	}
	srv.kill()
	startServer(t, dataDir, args...)
	if b, _ := os.ReadFile(filepath.Join(proj.files(), "d/f7")); string(b) != "edited" {
		t.Fatalf("the edit after recovery became %q after a restart", b)
	}
	if es, _ := os.ReadDir(filepath.Join(dataDir, "projects", ".restoring")); len(es) != 0 {
		t.Errorf("restore marks left: %v", es)
	}
	return v
}
