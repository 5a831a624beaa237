package api_test

import (
	"context"
	"ecode/internal/config"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"ecode/internal/client"
	"ecode/internal/store"
	"ecode/internal/testutil"
	"ecode/internal/volume"
)

type runState struct {
	State      string `json:"state"`
	RunID      string `json:"run_id"`
	ExitCode   *int   `json:"exit_code"`
	Reason     string `json:"reason"`
	Port       int    `json:"port"`
	Listening  bool   `json:"listening"`
	PreviewURL string `json:"preview_url"`
	Phase      string `json:"phase"`
	Limits     struct {
		MemoryBytes int64 `json:"memory_bytes"`
		MaxProcs    int   `json:"max_procs"`
	} `json:"limits"`
}

// sandboxServer is a test server whose sandbox must work (CI) or the test skips.
func sandboxServer(t *testing.T) (*testutil.Server, *client.Client) {
	t.Helper()
	srv := testutil.NewServer(t, testutil.NewStore(t, store.SQLite))
	testutil.RequireSandbox(t, testutil.NewSandbox(t))
	return srv, srv.User(t, "runner")
}

// waitRun waits, on the runner's change notifications, until cond holds.
func waitRun(t *testing.T, srv *testutil.Server, c *client.Client, id string, cond func(runState) bool) runState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute) // a first Go build compiles the standard library
	defer cancel()
	return waitRunOn(ctx, t, srv, c, id, cond)
}

// previewGet fetches path from the project's preview origin, signing in
// with a preview session like the IDE's iframe does.
func previewGet(t *testing.T, srv *testutil.Server, c *client.Client, id, path string) (int, string) {
	t.Helper()
	status, body, _ := previewDo(t, srv, c, id, path)
	return status, body
}

// previewDo is previewGet that also returns the response's header.
func previewDo(t *testing.T, srv *testutil.Server, c *client.Client, id, path string) (int, string, http.Header) {
	t.Helper()
	ctx := context.Background()
	var sess struct{ URL string }
	if err := c.Do(ctx, "POST", "/api/projects/"+id+"/preview/session", nil, "", &sess); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(sess.URL)
	if err != nil || !strings.HasPrefix(u.Hostname(), "p-"+id+".") {
		t.Fatalf("preview URL %q", sess.URL)
	}
	srvAddr := strings.TrimPrefix(srv.URL, "http://")
	hc := &http.Client{
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, srvAddr) // *.localhost is this machine
		}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := hc.Get(sess.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "ecode_preview" {
			cookie = ck
		}
	}
	if resp.StatusCode != http.StatusFound || cookie == nil || !cookie.HttpOnly || !cookie.Partitioned {
		t.Fatalf("preview auth: %s, cookie %+v", resp.Status, cookie)
	}
	req, _ := http.NewRequest("GET", u.Scheme+"://"+u.Host+path, nil)
	req.AddCookie(cookie)
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestRunEachTemplate(t *testing.T) {
	for tmpl, want := range map[string]string{
		"node": "Hello from Node.js", "python": "Hello from Python", "go": "Hello from Go", "static": "Hello from E-Code",
	} {
		t.Run(tmpl, func(t *testing.T) {
			t.Parallel()
			srv, c := sandboxServer(t)
			ctx := context.Background()
			p, err := c.CreateProject(ctx, tmpl, tmpl)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Do(ctx, "POST", "/api/projects/"+p.ID+"/run", nil, "", nil); err != nil {
				t.Fatal(err)
			}
			st := waitRun(t, srv, c, p.ID, func(s runState) bool { return s.Listening || s.State == "exited" })
			if st.State != "running" || st.Port != 3000 {
				out := runOutputText(t, c, p.ID)
				t.Fatalf("run state %+v; output:\n%s", st, out)
			}
			status, body := previewGet(t, srv, c, p.ID, "/")
			if status != 200 || !strings.Contains(body, want) {
				t.Fatalf("preview: %d %q", status, body)
			}
			var stopped runState
			if err := c.Do(ctx, "POST", "/api/projects/"+p.ID+"/stop", nil, "", &stopped); err != nil {
				t.Fatal(err)
			}
			if stopped.State != "stopped" || stopped.Reason != "stopped" {
				t.Errorf("after stop: %+v", stopped)
			}
			var res struct {
				ExitCode int    `json:"exit_code"`
				Stdout   string `json:"stdout"`
			}
			// Stop killed every process of the run. A killed process of the
			// session may still be on its way out (or a zombie not yet reaped
			// by the sandbox's init) when Stop answers: ask again a few times.
			left := ""
			for range 50 {
				c.Do(ctx, "POST", "/api/projects/"+p.ID+"/exec", strings.NewReader(`{"command":"ps -e -o stat=,comm= | grep -v ^Z | grep -cv -e ' ps$' -e ' sh$' -e ' grep$' -e ' init$' -e ' bwrap$' || true"}`), "application/json", &res)
				if left = strings.TrimSpace(res.Stdout); left == "0" {
					break
				}
			}
			if left != "0" {
				t.Errorf("processes left after stop: %q", left)
			}
		})
	}
}

// runOutputText returns the run's kept output.
func runOutputText(t *testing.T, c *client.Client, id string) string {
	var text string
	for _, e := range readSSE(t, c, "/api/projects/"+id+"/run/output", "") {
		if e.name == "output" {
			var d struct{ Data string }
			json.Unmarshal([]byte(e.data), &d)
			text += d.Data
		}
	}
	return text
}

func TestRunOutputStreamResumes(t *testing.T) {
	srv, c := sandboxServer(t)
	ctx := context.Background()
	p, _ := c.CreateProject(ctx, "out", "blank")
	c.WriteFile(ctx, p.ID, ".ecode.toml", []byte("run = \"printf 'one\\\\n'; printf '\\\\033[31mtwo\\\\033[0m\\\\n'; printf 'snow ☃\\\\n'\"\n"))
	if err := c.Do(ctx, "POST", "/api/projects/"+p.ID+"/run", nil, "", nil); err != nil {
		t.Fatal(err)
	}
	st := waitRun(t, srv, c, p.ID, func(s runState) bool { return s.State == "exited" })
	if st.ExitCode == nil || *st.ExitCode != 0 {
		t.Fatalf("run: %+v", st)
	}
	events := readSSE(t, c, "/api/projects/"+p.ID+"/run/output", "")
	var text, lastID string
	for _, e := range events {
		if e.name == "output" {
			var d struct{ Data string }
			json.Unmarshal([]byte(e.data), &d)
			text += d.Data
			lastID = e.id
		}
	}
	if !strings.Contains(text, "one\n\x1b[31mtwo\x1b[0m\nsnow ☃\n") {
		t.Fatalf("output %q lacks the program's output with its colours", text)
	}
	// Resuming from the last id sends no output again.
	for _, e := range readSSE(t, c, "/api/projects/"+p.ID+"/run/output", lastID) {
		if e.name == "output" {
			t.Errorf("resumed stream repeated output: %q", e.data)
		}
	}
}

type sseEvent struct{ name, id, data string }

// readSSE reads events until the stream says it has sent its backlog.
func readSSE(t *testing.T, c *client.Client, path, lastID string) []sseEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", c.BaseURL+path, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var events []sseEvent
	var cur sseEvent
	buf := make([]byte, 0, 4096)
	tmp := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(tmp)
		buf = append(buf, tmp[:n]...)
		for {
			i := strings.Index(string(buf), "\n")
			if i < 0 {
				break
			}
			line := string(buf[:i])
			buf = buf[i+1:]
			switch {
			case line == "":
				if cur.name == "caught-up" {
					return events
				}
				if cur.name != "" {
					events = append(events, cur)
				}
				cur = sseEvent{}
			case strings.HasPrefix(line, "event: "):
				cur.name = line[7:]
			case strings.HasPrefix(line, "id: "):
				cur.id = line[4:]
			case strings.HasPrefix(line, "data: "):
				cur.data = line[6:]
			}
		}
		if err != nil {
			t.Fatalf("stream ended early: %v; events %+v", err, events)
		}
	}
}

func TestExecReportsLimits(t *testing.T) {
	_, c := sandboxServer(t)
	ctx := context.Background()
	p, _ := c.CreateProject(ctx, "exec", "blank")
	exec := func(cmd string, timeout int) (r struct {
		ExitCode int    `json:"exit_code"`
		Stdout   string `json:"stdout"`
		Stderr   string `json:"stderr"`
		Reason   string `json:"reason"`
	}) {
		body, _ := json.Marshal(map[string]any{"command": cmd, "timeout_s": timeout})
		if err := c.Do(ctx, "POST", "/api/projects/"+p.ID+"/exec", strings.NewReader(string(body)), "application/json", &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := exec("echo out; echo err >&2; exit 3", 10); r.ExitCode != 3 || r.Stdout != "out\n" || r.Stderr != "err\n" {
		t.Errorf("plain exec: %+v", r)
	}
	if r := exec("sleep 30", 1); r.Reason != "timeout" {
		t.Errorf("timeout: %+v", r)
	}
	if r := exec("cat README.md", 10); !strings.Contains(r.Stdout, "New project") {
		t.Errorf("the project is not /workspace: %+v", r)
	}
	err := c.Do(ctx, "POST", "/api/projects/"+p.ID+"/exec", strings.NewReader(`{"command":""}`), "application/json", nil)
	wantStatus(t, err, http.StatusBadRequest)
}

func TestTerminalEchoAndReattach(t *testing.T) {
	srv, c := sandboxServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, _ := c.CreateProject(ctx, "term", "blank")
	var term struct{ ID string }
	if err := c.Do(ctx, "POST", "/api/projects/"+p.ID+"/terminals", strings.NewReader(`{"rows":24,"cols":80}`), "application/json", &term); err != nil {
		t.Fatal(err)
	}
	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http") + "/api/projects/" + p.ID + "/terminals/" + term.ID + "/ws"
	tok, _ := c.CreateToken(ctx, "ws")

	// A WebSocket from another origin is refused.
	_, _, err := websocket.Dial(ctx, wsURL+"?access_token="+tok.Token, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://evil.example"}}})
	if err == nil {
		t.Fatal("cross-origin WebSocket accepted")
	}

	conn, _, err := websocket.Dial(ctx, wsURL+"?access_token="+tok.Token, nil)
	if err != nil {
		t.Fatal(err)
	}
	conn.Write(ctx, websocket.MessageText, []byte(`{"type":"resize","rows":30,"cols":100}`))
	conn.Write(ctx, websocket.MessageBinary, []byte("stty size; echo hi-$((40+2))\n"))
	screen := readUntil(t, ctx, conn, "hi-42")
	if !strings.Contains(screen, "30 100") {
		t.Errorf("resize not applied; screen %q", screen)
	}
	conn.Close(websocket.StatusNormalClosure, "")

	// Reattach: the scrollback comes back, and the shell is the same one.
	conn, _, err = websocket.Dial(ctx, wsURL+"?access_token="+tok.Token, nil)
	if err != nil {
		t.Fatal(err)
	}
	readUntil(t, ctx, conn, "hi-42")
	conn.Write(ctx, websocket.MessageBinary, []byte("exit 7\n"))
	for {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("no exit message: %v", err)
		}
		if typ == websocket.MessageText {
			if !strings.Contains(string(data), `"exit_code":7`) {
				t.Errorf("exit message %s", data)
			}
			break
		}
	}
}

func readUntil(t *testing.T, ctx context.Context, conn *websocket.Conn, want string) string {
	t.Helper()
	var screen string
	for !strings.Contains(screen, want) {
		_, data, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %q: %v; screen %q", want, err, screen)
		}
		screen += string(data)
	}
	return screen
}

func TestProjectDiskIsLimited(t *testing.T) {
	// Volumes need root (loop devices, mounts): probe before relying on them.
	vols, err := volume.New(filepath.Join(testutil.TraversableTempDir(t), "volumes"), 24<<20)
	if err != nil {
		if os.Getenv("ECODE_REQUIRE_SANDBOX") != "" {
			t.Fatalf("volumes required: %v", err)
		}
		t.Skipf("volumes unavailable: %v", err)
	}
	vols.Close()
	srv := testutil.NewServer(t, testutil.NewStore(t, store.SQLite), testutil.ServerOptions{
		Config: func(c *config.Config) { c.ProjectDisk = 24 << 20 }})
	testutil.RequireSandbox(t, testutil.NewSandbox(t))
	c := srv.User(t, "disk")
	ctx := context.Background()
	p, err := c.CreateProject(ctx, "disk", "static")
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		ExitCode int    `json:"exit_code"`
		Reason   string `json:"reason"`
		Stderr   string `json:"stderr"`
	}
	err = c.Do(ctx, "POST", "/api/projects/"+p.ID+"/exec", strings.NewReader(`{"command":"dd if=/dev/zero of=fill bs=1M count=64"}`), "application/json", &res)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode == 0 || res.Reason != "disk_full" {
		t.Fatalf("filling the disk: %+v", res)
	}
	// The API says so plainly too (the little room dd left fills up within
	// a few writes), and the server is fine.
	for i := 0; ; i++ {
		err = c.WriteFile(ctx, p.ID, fmt.Sprintf("more%d.bin", i), make([]byte, 1<<20))
		if err != nil || i == 8 {
			break
		}
	}
	if e := wantStatus(t, err, http.StatusInsufficientStorage); e.Code != "disk_full" {
		t.Errorf("write on a full disk: %+v", e)
	}
	if err := c.DeleteFile(ctx, p.ID, "fill"); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteFile(ctx, p.ID, "more.bin", make([]byte, 512<<10)); err != nil {
		t.Errorf("write after freeing space: %v", err)
	}
	if b, err := c.ReadFile(ctx, p.ID, "index.html"); err != nil || !strings.Contains(string(b), "Hello") {
		t.Errorf("project files damaged: %v", err)
	}
}
