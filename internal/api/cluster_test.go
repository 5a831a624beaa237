package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"ecode/internal/client"
	"ecode/internal/config"
	"ecode/internal/store"
	"ecode/internal/testutil"
	"ecode/internal/testutil/testdb"
)

const clusterSecret = "test-cluster-secret-0123456789"

// threeNodes starts nodes a, b and c as three `ecode serve` processes
// would run them: one PostgreSQL, one Redis, one data directory, each with
// its internal listener and the cluster secret. PostgreSQL only (the nodes
// of a real cluster share a database server); without one the test skips,
// in CI it fails. agentURL, when set, is the agent's OpenAI-compatible
// provider.
func threeNodes(t *testing.T, agentURL string) (a, b, c *testutil.Server) {
	n := clusterNodes(t, agentURL, "a", "b", "c")
	return n[0], n[1], n[2]
}

// clusterNodes starts one node per id, as threeNodes does.
func clusterNodes(t *testing.T, agentURL string, ids ...string) []*testutil.Server {
	t.Helper()
	st := testdb.NewStore(t, store.Postgres)
	redis := testdb.RedisURL(t)
	dir := testutil.TraversableTempDir(t)
	var nodes []*testutil.Server
	for _, id := range ids {
		nodes = append(nodes, testutil.NewServer(t, st, testutil.ServerOptions{Dir: dir, Config: func(c *config.Config) {
			c.RedisURL, c.InternalAddr, c.NodeID, c.ClusterSecret = redis, "127.0.0.1:0", id, clusterSecret
			if agentURL != "" {
				c.OpenAIBaseURL, c.OpenAIAPIKey, c.AgentModel = agentURL, "k", "m"
			}
		}}))
	}
	for _, n := range nodes {
		<-n.Revoke.Subscribed()
	}
	testutil.RequireSandbox(t, nodes[0].Sandbox)
	return nodes
}

type execResult struct {
	ExitCode int    `json:"exit_code"`
	Stdout   string `json:"stdout"`
	Stderr   string `json:"stderr"`
}

func execOn(ctx context.Context, c *client.Client, projectID, cmd string) (execResult, error) {
	var r execResult
	body, _ := json.Marshal(map[string]any{"command": cmd, "timeout_s": 20})
	err := c.Do(ctx, "POST", "/api/projects/"+projectID+"/exec", strings.NewReader(string(body)), "application/json", &r)
	return r, err
}

func mustExec(t *testing.T, ctx context.Context, c *client.Client, projectID, cmd string) execResult {
	t.Helper()
	r, err := execOn(ctx, c, projectID, cmd)
	if err != nil {
		t.Fatalf("exec %q on %s: %v", cmd, c.BaseURL, err)
	}
	return r
}

// owner is the node holding the project's lease, as node n sees it.
func ownerOf(t *testing.T, n *testutil.Server, projectID string) string {
	t.Helper()
	o, err := n.Cluster.Owner(context.Background(), projectID)
	if err != nil {
		t.Fatal(err)
	}
	return o.NodeID
}

const clusterApp = `import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
print("app-listening", flush=True)
http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
`

// A client talks to node A about a project whose sandbox runs on node B:
// exec, Run, the run output, the preview and terminal keystrokes all reach
// B. Node B is killed: after its lease expires the next exec starts the
// project on another node with its files. Node C drains: its project moves.
func TestClusterForwardsToOwner(t *testing.T) {
	a, b, c := threeNodes(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	admin := a.User(t, "admin")
	p, err := admin.CreateProject(ctx, "shared", "python")
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.WriteFile(ctx, p.ID, "main.py", []byte(clusterApp)); err != nil {
		t.Fatal(err)
	}
	// The first sandbox request lands on B: B owns the project.
	if r := mustExec(t, ctx, on(b, admin), p.ID, "echo first"); r.Stdout != "first\n" {
		t.Fatalf("exec on B: %+v", r)
	}
	if got := ownerOf(t, a, p.ID); got != "b" {
		t.Fatalf("owner %s, want b", got)
	}

	// Exec through A runs in B's sandbox.
	if r := mustExec(t, ctx, admin, p.ID, "echo via-a; cat main.py | head -1"); r.Stdout != "via-a\nimport http.server, os\n" {
		t.Fatalf("exec through A: %+v", r)
	}
	if a.Runner.Active() != 0 || b.Runner.Active() != 1 {
		t.Fatalf("sandboxes: a %d, b %d; want the one on b", a.Runner.Active(), b.Runner.Active())
	}

	// Run through A, its output and its preview through A.
	if err := admin.Do(ctx, "POST", "/api/projects/"+p.ID+"/run", nil, "", nil); err != nil {
		t.Fatal(err)
	}
	if st := waitRun(t, b, admin, p.ID, func(s runState) bool { return s.Listening || s.State == "exited" }); !st.Listening {
		t.Fatalf("app did not start: %+v\n%s", st, runOutputText(t, admin, p.ID))
	}
	if out := runOutputText(t, admin, p.ID); !strings.Contains(out, "app-listening") {
		t.Errorf("run output through A: %q", out)
	}
	if status, body := previewGet(t, a, admin, p.ID, "/"); status != 200 || body != "ok" {
		t.Errorf("preview through A: %d %q", status, body)
	}

	// A terminal opened and typed into through A is a shell on B.
	var term struct{ ID string }
	if err := admin.Do(ctx, "POST", "/api/projects/"+p.ID+"/terminals", strings.NewReader(`{"rows":24,"cols":80}`), "application/json", &term); err != nil {
		t.Fatal(err)
	}
	if n := len(b.Runner.Terminals(p.ID)); n != 1 {
		t.Fatalf("B has %d terminals, want the one opened through A", n)
	}
	tok, err := admin.CreateToken(ctx, "ws")
	if err != nil {
		t.Fatal(err)
	}
	wsURL := "ws" + strings.TrimPrefix(a.URL, "http") + "/api/projects/" + p.ID + "/terminals/" + term.ID + "/ws?access_token=" + tok.Token
	conn, _, err := websocket.Dial(ctx, wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	conn.Write(ctx, websocket.MessageBinary, []byte("echo hi-$((40+2))\n"))
	readUntil(t, ctx, conn, "hi-42")

	// B's internal listener refuses what no node signed.
	for name, hdr := range map[string]string{"unsigned": "", "forged": "a;" + "1700000000;" + strings.Repeat("0", 64)} {
		req, _ := http.NewRequestWithContext(ctx, "POST", b.InternalURL+"/api/projects/"+p.ID+"/exec", strings.NewReader(`{"command":"id"}`))
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		req.Header.Set("Content-Type", "application/json")
		if hdr != "" {
			req.Header.Set("X-Ecode-Node", hdr)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s request to B's internal listener: %d, want 401", name, resp.StatusCode)
		}
	}

	// Kill B. Its terminal's socket drops; until its lease expires the
	// project answers 503 (retry), then the next exec starts it on A.
	b.Kill()
	dropped, cancelDropped := context.WithTimeout(ctx, 20*time.Second)
	for { // output already on its way may come first
		if _, _, err := conn.Read(dropped); err != nil {
			if dropped.Err() != nil {
				t.Fatal("terminal socket still open 20 s after its node died")
			}
			break
		}
	}
	cancelDropped()
	quick, cancelQuick := context.WithTimeout(ctx, 20*time.Second)
	_, err = execOn(quick, admin, p.ID, "true")
	cancelQuick()
	wantStatus(t, err, http.StatusServiceUnavailable)
	for _, n := range []*testutil.Server{a, c} {
		n.Clock.Advance(a.Cluster.TTL() + time.Second)
		if err := n.Cluster.Heartbeat(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if r := mustExec(t, ctx, admin, p.ID, "head -1 main.py"); r.Stdout != "import http.server, os\n" {
		t.Fatalf("exec after B died: %+v (files lost?)", r)
	}
	if got := ownerOf(t, c, p.ID); got != "a" || a.Runner.Active() != 1 {
		t.Fatalf("after B died: owner %s, %d sandboxes on A", got, a.Runner.Active())
	}
	// The terminal client reconnects: its old shell is gone, a new one opens.
	conn2, _, err := websocket.Dial(ctx, wsURL, nil)
	if err == nil {
		conn2.Close(websocket.StatusNormalClosure, "")
		t.Fatal("the dead node's terminal reattached")
	}
	var term2 struct{ ID string }
	if err := admin.Do(ctx, "POST", "/api/projects/"+p.ID+"/terminals", strings.NewReader(`{"rows":24,"cols":80}`), "application/json", &term2); err != nil {
		t.Fatal(err)
	}

	// C owns a second project; C drains (through A's admin API): the next
	// request moves it, and C stops its sandbox at its next heartbeat.
	p2, err := admin.CreateProject(ctx, "second", "blank")
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, ctx, on(c, admin), p2.ID, "echo on-c > where")
	if got := ownerOf(t, a, p2.ID); got != "c" || c.Runner.Active() != 1 {
		t.Fatalf("p2 at %s with %d sandboxes on C", got, c.Runner.Active())
	}
	var nodes struct{ Nodes []struct{ ID, State string } }
	if err := admin.Do(ctx, "POST", "/api/admin/nodes/c/drain", nil, "", nil); err != nil {
		t.Fatal(err)
	}
	if err := admin.Do(ctx, "GET", "/api/admin/nodes", nil, "", &nodes); err != nil || len(nodes.Nodes) != 3 || nodes.Nodes[2].State != "draining" {
		t.Fatalf("nodes after draining c: %+v, %v", nodes, err)
	}
	if r := mustExec(t, ctx, on(c, admin), p2.ID, "cat where"); r.Stdout != "on-c\n" {
		t.Fatalf("exec through draining C: %+v", r)
	}
	if got := ownerOf(t, a, p2.ID); got != "a" {
		t.Fatalf("after draining C, p2 at %s, want a", got)
	}
	if err := c.Cluster.Heartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	if n := c.Runner.Active(); n != 0 {
		t.Errorf("drained C still runs %d sandboxes", n)
	}
	if err := admin.Do(ctx, "POST", "/api/admin/nodes/nope/drain", nil, "", nil); err == nil {
		t.Error("draining an unknown node succeeded")
	}
}

// The sign-in limit counts attempts on every node together: failures
// spread over three nodes back off as if sent to one.
func TestClusterLoginLimitHolds(t *testing.T) {
	a, b, c := threeNodes(t, "")
	ctx := context.Background()
	a.User(t, "victim")
	nodes := []*testutil.Server{a, b, c}
	for i := range 12 {
		n := nodes[i%3]
		_, err := n.Client().Login(ctx, "victim@example.test", "wrong password here")
		var e *client.Error
		if !errors.As(err, &e) {
			t.Fatalf("attempt %d: %v", i, err)
		}
		if e.Status == http.StatusTooManyRequests {
			if i < 5 {
				t.Fatalf("attempt %d refused already", i)
			}
			return // no node saw more than %d attempts of its own
		}
		if e.Status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, e.Status)
		}
	}
	t.Fatal("12 wrong passwords over three nodes, none refused: each node limits on its own")
}

// Two agent turns for one project, sent to two nodes: one runs, the other
// is refused with 409.
func TestClusterOneAgentTurn(t *testing.T) {
	var once sync.Once
	started, release := make(chan struct{}), make(chan struct{})
	model := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(started) })
		select { // the model thinks until the turn is stopped or the test ends
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(model.Close)
	a, _, c := threeNodes(t, model.URL)
	t.Cleanup(func() { close(release) }) // before the nodes stop
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin := a.User(t, "admin")
	p, err := admin.CreateProject(ctx, "agent", "blank")
	if err != nil {
		t.Fatal(err)
	}
	first, err := admin.Raw(ctx, "POST", "/api/projects/"+p.ID+"/agent/turns", strings.NewReader(`{"prompt":"take your time"}`), "application/json")
	if err != nil {
		t.Fatal(err)
	}
	defer first.Body.Close()
	if first.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(first.Body)
		t.Fatalf("first turn: %d %s", first.StatusCode, b)
	}
	<-started
	err = on(c, admin).Do(ctx, "POST", "/api/projects/"+p.ID+"/agent/turns", strings.NewReader(`{"prompt":"me too"}`), "application/json", nil)
	wantStatus(t, err, http.StatusConflict)
	if err := on(c, admin).Do(ctx, "POST", "/api/projects/"+p.ID+"/agent/stop", nil, "", nil); err != nil {
		t.Fatal(err)
	}
}
