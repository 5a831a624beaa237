package agentrun

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ecode/internal/runner"
	"ecode/internal/sandbox"
	"ecode/internal/store"
)

type projectDirs string

func (d projectDirs) Dir(id string) string { return filepath.Join(string(d), id) }
func (d projectDirs) WriteFile(id, name string, data []byte) error {
	return os.WriteFile(filepath.Join(string(d), id, name), data, 0o644)
}

type noUsage struct{}

func (noUsage) RecordUsages(context.Context, []store.UsageEvent) error { return nil }

// The preview of a page comes with Chromium's screenshot and the page's
// console messages. Without Chromium the test is skipped; with it, a failed
// capture fails the test.
func TestPreviewScreenshotAndConsole(t *testing.T) {
	if !chromiumInstalled() {
		if os.Getenv("ECODE_REQUIRE_SANDBOX") != "" { // CI installs chromium
			t.Fatal("chromium is required in CI (Debian package chromium)")
		}
		t.Skip("chromium not installed")
	}
	// testutil imports this package (through api): its sandbox helpers are
	// redone here
	id := make([]byte, 4)
	rand.Read(id)
	sb := sandbox.NewLocal(sandbox.Options{StateDir: openTempDir(t), CgroupPrefix: "ecode-test-" + hex.EncodeToString(id)})
	t.Cleanup(func() { sb.Close() })
	if err := sb.Check(); err != nil {
		if os.Getenv("ECODE_REQUIRE_SANDBOX") != "" {
			t.Fatalf("sandbox required but unusable: %v", err)
		}
		t.Skipf("sandbox unusable here: %v", err)
	}
	dir := projectDirs(openTempDir(t))
	// a server on the host that the page tries to reach
	var hostHits atomic.Int32
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hostHits.Add(1) }))
	defer host.Close()
	os.Mkdir(dir.Dir("p1"), 0o755)
	for name, data := range map[string]string{
		".ecode.toml": "run = \"python3 -m http.server 8765 --bind 127.0.0.1\"\n",
		"index.html":  "<!doctype html><html><body><h1>Hello</h1><script src=\"app.js\"></script></body></html>\n",
		"app.js": "console.error(\"boom\");\n" +
			"fetch(\"" + host.URL + "/x\", {mode: \"no-cors\"}).catch(e => console.error(\"outside failed\"));\n" +
			"throw new Error(\"kaput\");\n",
	} {
		if err := dir.WriteFile("p1", name, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	m := runner.New(sb, dir, noUsage{}, runner.Options{
		// the server's default memory: Chromium's own pages (its binary
		// alone is ~250 MB), read for the first time on a fresh machine,
		// are charged to the sandbox; in 256 MiB they thrashed past 60 s
		Limits:      sandbox.Limits{MemoryBytes: 1 << 30, CPU: 1, MaxProcs: 128, TmpBytes: 16 << 20},
		IdleTimeout: 30 * time.Minute, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	t.Cleanup(func() { m.Close() })
	ctx := context.Background()
	// Chromium's first start, in a sandbox of one CPU while the rest of
	// the suite runs beside it on two cores, is slow on a fresh machine.
	a := app{run: m, projectID: "p1", wait: time.Minute, shot: 2 * time.Minute}
	if _, err := a.Control(ctx, "start"); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(time.Minute)
	for {
		changed := m.Changed()
		st := m.RunState("p1")
		if st.Listening {
			break
		}
		if st.State == runner.StateExited {
			t.Fatalf("run ended: %+v", st)
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("the app never listened: %+v", st)
		}
	}
	res, err := a.Preview(ctx, "/")
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != 200 || !strings.Contains(res.Body, "Hello") {
		t.Fatalf("preview %d %q", res.Status, res.Body)
	}
	if !bytes.HasPrefix(res.Screenshot, []byte("\x89PNG")) {
		t.Fatalf("no PNG screenshot (%d bytes); console %q", len(res.Screenshot), res.Console)
	}
	joined := strings.Join(res.Console, "\n")
	if !strings.Contains(joined, "boom") || !strings.Contains(joined, "Uncaught Error: kaput") {
		t.Errorf("console %q", res.Console)
	}
	// the browser reaches nothing but the app
	if n := hostHits.Load(); n != 0 {
		t.Errorf("the page reached a server on the host (%d requests)", n)
	}
	if strings.Contains(joined, "127.0.0.1:") {
		t.Errorf("proxy origin left in console lines: %q", res.Console)
	}
}

// openTempDir is a temporary directory that sandboxed processes (their own
// uids) can traverse.
func openTempDir(t *testing.T) string {
	d := t.TempDir()
	for _, p := range []string{d, filepath.Dir(d)} {
		if err := os.Chmod(p, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func TestConsoleLines(t *testing.T) {
	log := "[1:1:1127/125844.640221:INFO:CONSOLE:1] \"boom\", source: http://127.0.0.1:4000/app.js (1)\n" +
		"[1:1:1127/125844.7:WARNING:other.cc(12)] unrelated\n" +
		"[1:1:1127/125844.8:INFO:CONSOLE(3)] \"Uncaught Error: x\", source: http://127.0.0.1:4000/ (3)\n"
	got := consoleLines(log+strings.Repeat(log, 30), "http://127.0.0.1:4000")
	if len(got) != shotMaxConsole || got[0] != `"boom", source: /app.js (1)` || got[1] != `"Uncaught Error: x", source: / (3)` {
		t.Fatalf("%q", got)
	}
}
