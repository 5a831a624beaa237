package collab_test

import (
	"bufio"
	"context"
	"ecode/internal/testutil/testdb"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ecode/internal/app"
	apiclient "ecode/internal/client"
	"ecode/internal/collab"
	"ecode/internal/store"
	"ecode/internal/testutil"
	"ecode/internal/workspace"
)

// node is a real API server (router, auth, store, files) with a hub, on a
// fixed address so that it can be restarted where clients reconnect.
type node struct {
	URL   string
	addr  string
	hub   *collab.Hub
	files *workspace.Files
	hs    *httptest.Server
	stop  func() // stops the HTTP server, then the hub (graceful)
}

func startNode(t *testing.T, st *store.Store, dir, addr string, opts collab.Options) *node {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = 100 * time.Millisecond
	}
	cfg := testutil.TestConfig(t, dir)
	srv, err := app.Build(context.Background(), cfg, app.Deps{Store: st, Log: log, Now: time.Now,
		Collab: func(o *collab.Options) {
			o.Redis, o.RedisPrefix, o.LeaseTTL, o.PollInterval = opts.Redis, opts.RedisPrefix, opts.LeaseTTL, opts.PollInterval
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() {
		defer close(runDone)
		srv.Run(ctx)
	}()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(srv.Handler())
	hs.Listener.Close()
	hs.Listener = ln
	hs.Start()
	var once sync.Once
	n := &node{URL: hs.URL, addr: ln.Addr().String(), hub: srv.Collab, files: srv.Files, hs: hs}
	n.stop = func() {
		once.Do(func() {
			hs.Close()
			cancel()
			<-runDone
			srv.Close()
		})
	}
	t.Cleanup(n.stop)
	return n
}

// nodeClients runs testdata/clients/clients.mjs: real yjs and y-websocket
// clients. Without node_modules the test fails, unless ECODE_SKIP_NODE=1.
type nodeClients struct {
	t   *testing.T
	in  io.WriteCloser
	out *bufio.Scanner
	cmd *exec.Cmd
}

func startNodeClients(t *testing.T) *nodeClients {
	t.Helper()
	if os.Getenv("ECODE_SKIP_NODE") == "1" {
		t.Skip("ECODE_SKIP_NODE=1: the real yjs clients are not run")
	}
	dir, _ := filepath.Abs("testdata/clients")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "y-websocket")); err != nil {
		t.Fatalf("the Node clients are not installed: run `make deps` (or npm ci in %s), or set ECODE_SKIP_NODE=1", dir)
	}
	cmd := exec.Command("node", "clients.mjs")
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	sc := bufio.NewScanner(outPipe)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	return &nodeClients{t: t, in: in, out: sc, cmd: cmd}
}

type nodeReply struct {
	OK        bool     `json:"ok"`
	Error     string   `json:"error"`
	Text      string   `json:"text"`
	Peers     []string `json:"peers"`
	Connected bool     `json:"connected"`
}

// start sends a command; wait reads its answer.
func (n *nodeClients) start(cmd map[string]any) {
	n.t.Helper()
	b, _ := json.Marshal(cmd)
	if _, err := n.in.Write(append(b, '\n')); err != nil {
		n.t.Fatal(err)
	}
}

func (n *nodeClients) wait() nodeReply {
	n.t.Helper()
	if !n.out.Scan() {
		n.t.Fatalf("node clients exited: %v", n.out.Err())
	}
	var r nodeReply
	if err := json.Unmarshal(n.out.Bytes(), &r); err != nil {
		n.t.Fatalf("node clients: %s", n.out.Bytes())
	}
	if r.Error != "" {
		n.t.Fatalf("node clients: %s", r.Error)
	}
	return r
}

func (n *nodeClients) do(cmd map[string]any) nodeReply {
	n.t.Helper()
	n.start(cmd)
	return n.wait()
}

// project signs up a user on srv and returns a project with one file and
// an access token.
func project(t *testing.T, srv *node, file, text string) (projectID, token string) {
	t.Helper()
	ctx := context.Background()
	c := apiclient.New(srv.URL)
	if _, err := c.Signup(ctx, "ann-"+randomID()+"@example.test", "correct horse battery", "Ann"); err != nil {
		t.Fatal(err)
	}
	p, err := c.CreateProject(ctx, "collab", "blank")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteFile(ctx, p.ID, file, []byte(text)); err != nil {
		t.Fatal(err)
	}
	tok, err := c.CreateToken(ctx, "collab test")
	if err != nil {
		t.Fatal(err)
	}
	return p.ID, tok.Token
}

func collabURL(srv *node, projectID string) string {
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/api/projects/" + projectID + "/collab"
}

func diskText(t *testing.T, srv *node, projectID, file string) string {
	b, err := os.ReadFile(filepath.Join(srv.files.Dir(projectID), file))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Several real y-websocket clients edit one file at random, concurrently,
// dropping and re-opening their connections; the server restarts in the
// middle. All converge, and the file holds their text.
func TestRealClientsConvergeAcrossRestart(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		js := startNodeClients(t)
		dir := testutil.TraversableTempDir(t)
		srv := startNode(t, st, dir, "127.0.0.1:0", collab.Options{CompactEvery: 50})
		pid, token := project(t, srv, "src/app.js", "console.log('hi')\n")
		js.do(map[string]any{"cmd": "connect", "url": collabURL(srv, pid), "room": "src/app.js", "token": token, "n": 5})
		if r := js.do(map[string]any{"cmd": "state", "client": 0}); r.Text != "console.log('hi')\n" {
			t.Fatalf("seeded text %q", r.Text)
		}
		js.do(map[string]any{"cmd": "edit", "ops": 80, "seed": 1, "reconnects": true})
		first := js.do(map[string]any{"cmd": "converge"}).Text

		// restart while the clients keep typing
		js.start(map[string]any{"cmd": "edit", "ops": 80, "seed": 2, "reconnects": false})
		srv.stop() // clients keep typing offline and reconnect by themselves
		srv = startNode(t, st, dir, srv.addr, collab.Options{CompactEvery: 50})
		js.wait()
		text := js.do(map[string]any{"cmd": "converge"}).Text
		if text == first {
			t.Fatal("the second round of edits changed nothing")
		}
		deadline := time.Now().Add(20 * time.Second)
		for diskText(t, srv, pid, "src/app.js") != text {
			if time.Now().After(deadline) {
				t.Fatalf("file holds %q, clients %q", diskText(t, srv, pid, "src/app.js"), text)
			}
			js.do(map[string]any{"cmd": "state", "client": 0}) // a round trip, not a sleep
		}
		if r := js.do(map[string]any{"cmd": "state", "client": 0}); len(r.Peers) != 4 {
			t.Errorf("client 0 sees peers %v, want the 4 others", r.Peers)
		}
		t.Logf("converged on %d characters after a restart", len([]rune(text)))
	})
}

// Two servers on one database and one Redis, a real client on each; the
// first dies, its client reconnects to the second and nothing is lost.
func TestRealClientsOnTwoNodes(t *testing.T) {
	st := testutil.NewStore(t, store.Postgres)
	js := startNodeClients(t)
	dir := testutil.TraversableTempDir(t) // shared project files, as on a network file system
	opts := collab.Options{Redis: testdb.Redis(t), RedisPrefix: "ecodetest:" + randomID() + ":", LeaseTTL: 500 * time.Millisecond}
	n1 := startNode(t, st, dir, "127.0.0.1:0", opts)
	n2 := startNode(t, st, dir, "127.0.0.1:0", opts)
	pid, token := project(t, n1, "main.py", "print('hello')\n")
	js.do(map[string]any{"cmd": "connect", "url": collabURL(n1, pid), "room": "main.py", "token": token, "n": 1})
	js.do(map[string]any{"cmd": "connect", "url": collabURL(n2, pid), "room": "main.py", "token": token, "n": 1})
	js.do(map[string]any{"cmd": "edit", "ops": 40, "seed": 3, "reconnects": false})
	before := js.do(map[string]any{"cmd": "converge"}).Text
	if r := js.do(map[string]any{"cmd": "state", "client": 1}); len(r.Peers) != 1 {
		t.Errorf("client on node 2 sees peers %v across nodes", r.Peers)
	}

	js.do(map[string]any{"cmd": "retarget", "client": 0, "url": collabURL(n2, pid)})
	n1.hub.Abort() // node 1 dies
	n1.hs.Close()
	js.do(map[string]any{"cmd": "edit", "ops": 20, "seed": 4, "reconnects": false})
	after := js.do(map[string]any{"cmd": "converge"}).Text
	if len(after) <= len(before)/2 {
		t.Fatalf("text shrank from %d to %d bytes", len(before), len(after))
	}
	deadline := time.Now().Add(20 * time.Second)
	for diskText(t, n2, pid, "main.py") != after {
		if time.Now().After(deadline) {
			t.Fatalf("file holds %q, clients %q", diskText(t, n2, pid, "main.py"), after)
		}
		js.do(map[string]any{"cmd": "state", "client": 0})
	}
}
