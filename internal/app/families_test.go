package app_test

import (
	"bufio"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"ecode/internal/agent/fake"
	"ecode/internal/app"
	"ecode/internal/client"
	"ecode/internal/collab"
	"ecode/internal/config"
	"ecode/internal/jobs"
	"ecode/internal/store"
	"ecode/internal/testutil"
	"ecode/internal/testutil/testdb"
	"ecode/internal/yjs"
	"ecode/internal/yjs/protocol"
)

// scrape reads /metrics and sums each family's samples: counters and
// gauges by name, histograms by their _count.
func scrape(t *testing.T, url string) (map[string]float64, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer scrape")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	sums := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name := line[:strings.IndexAny(line, "{ ")]
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			continue
		}
		name = strings.TrimSuffix(name, "_count")
		sums[name] += v
	}
	return sums, string(body)
}

type testJob struct{ N int }

func (testJob) Kind() string { return "metrics_test" }

var publishedUpdates = regexp.MustCompile(`(?m)^ecode_collab_publishes_total\{kind="update"\} (\S+)$`)

var sentByRoom = regexp.MustCompile(`(?m)^ecode_collab_messages_sent_total\{by="room"\} (\S+)$`)

// Every subsystem's metric families are served and move when the
// subsystem works: a file write, a collaboration session, a run, an exec
// (and one a limit kills), an agent turn with the fake model, a
// checkpoint and its restore, a job.
func TestEveryFamilyMoves(t *testing.T) {
	testutil.RequireSandbox(t, testutil.NewSandbox(t))
	fk := fake.NewAnthropic(&fake.Transcript{Name: "metrics", Steps: []fake.Step{
		{Respond: fake.Respond{StopReason: "end_turn", Content: []fake.Content{fake.Text("Nothing to do.")}}},
	}})
	t.Cleanup(fk.Close)
	ran := make(chan int, 1)
	srv := testutil.NewServer(t, testutil.NewStore(t, store.SQLite), testutil.ServerOptions{
		Config: func(c *config.Config) {
			c.MetricsToken = "scrape"
			c.AnthropicAPIKey, c.AnthropicBaseURL = "test-key", fk.URL
		},
		Built: func(s *app.Server) {
			jobs.Handle(s.Jobs, func(_ context.Context, j testJob, _ int) error { ran <- j.N; return nil })
		},
	})
	c := srv.User(t, "metrics")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p, err := c.CreateProject(ctx, "metrics", "")
	if err != nil {
		t.Fatal(err)
	}
	before, _ := scrape(t, srv.URL)

	if err := c.WriteFile(ctx, p.ID, "app.py", []byte("print('hi')\n")); err != nil {
		t.Fatal(err)
	}
	conn := collabEdit(t, ctx, srv, c, p.ID, "app.py")
	during, _ := scrape(t, srv.URL) // the session is open: rooms and clients
	conn.Close(websocket.StatusNormalClosure, "")
	post := func(path, body string) {
		t.Helper()
		if err := c.Do(ctx, "POST", "/api/projects/"+p.ID+path, strings.NewReader(body), "application/json", nil); err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
	}
	post("/exec", `{"command":"echo hi"}`)
	post("/exec", `{"command":"sleep 30","timeout_s":1}`) // killed by its time limit
	if err := c.WriteFile(ctx, p.ID, ".ecode.toml", []byte("run = \"sleep 60\"\n")); err != nil {
		t.Fatal(err)
	}
	post("/run", `{}`)
	post("/stop", `{}`)
	resp, err := c.Raw(ctx, "POST", "/api/projects/"+p.ID+"/agent/turns", strings.NewReader(`{"prompt":"anything"}`), "application/json")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body) // the stream ends with the turn
	resp.Body.Close()
	var cp struct{ ID string }
	if err := c.Do(ctx, "POST", "/api/projects/"+p.ID+"/checkpoints", strings.NewReader(`{"message":"m"}`), "application/json", &cp); err != nil {
		t.Fatal(err)
	}
	post("/checkpoints/"+cp.ID+"/restore", `{}`)
	if _, err := srv.Jobs.Enqueue(ctx, testJob{N: 7}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ran:
	case <-ctx.Done():
		t.Fatal("the job did not run")
	}

	moved := func(name string, now map[string]float64) bool { return now[name] != before[name] }
	wantMoved := []string{"ecode_http_requests_total", "ecode_http_request_duration_seconds",
		"ecode_collab_updates_total", "ecode_collab_log_lag_seconds",
		"ecode_sandbox_start_seconds", "ecode_sandbox_kills_total", "ecode_execs_total",
		"ecode_runs_started_total", "ecode_run_exits_total",
		"ecode_agent_turns_total", "ecode_agent_tokens_total", "ecode_agent_cost_microdollars_total",
		"ecode_checkpoint_ops_total", "ecode_checkpoint_duration_seconds", "ecode_checkpoint_bytes_total",
		"ecode_job_attempts_total", "ecode_job_wait_seconds", "ecode_job_run_seconds", "ecode_jobs"}
	// Some families move just after the answers that caused them (a run's
	// end, a job's completion event): scrape until all moved.
	var after map[string]float64
	var text string
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		after, text = scrape(t, srv.URL)
		missing := 0
		for _, f := range wantMoved {
			if !moved(f, after) {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			for _, f := range wantMoved {
				if !moved(f, after) {
					t.Errorf("%s did not move (%v before, %v after)", f, before[f], after[f])
				}
			}
			t.FailNow()
		}
	}
	// through the server's own listeners, the room writes to the socket itself
	if room := sentByRoom.FindStringSubmatch(text); room == nil || room[1] == "0" {
		t.Errorf("no collaboration message written by the room itself: %q", room)
	}
	for _, f := range []string{"ecode_collab_rooms", "ecode_collab_clients"} {
		if !moved(f, during) {
			t.Errorf("%s did not move during a collaboration session (%v before, %v during)", f, before[f], during[f])
		}
	}
	if after["ecode_sandboxes_active"] < 1 || before["ecode_sandboxes_active"] != 0 {
		t.Errorf("ecode_sandboxes_active %v before, %v after", before["ecode_sandboxes_active"], after["ecode_sandboxes_active"])
	}
	if !strings.Contains(text, `ecode_sandbox_kills_total{reason="timeout"} 1`) {
		t.Errorf("the time limit's kill is not counted")
	}
	// Families served before their first event: relay lag needs a second
	// node (TestRelayLagMoves), lost relayed messages and Redis
	// resubscribes a failure (collab's TestFullInboxReadsTheLog and
	// others); the published apps' requests need a
	// deployment (their per-project series appear with its first request).
	for _, f := range []string{"ecode_collab_relay_lag_seconds", "ecode_collab_relay_dropped_total", "ecode_collab_redis_resubscribes_total", "ecode_deploy_request_duration_seconds", "ecode_data_disk_free_bytes"} {
		if !strings.Contains(text, "# TYPE "+f+" ") {
			t.Errorf("family %s is not served", f)
		}
	}
}

// collabEdit opens a collaboration session on a file and makes one edit,
// returning once the server has logged it (the sender's echo comes after
// the log).
func collabEdit(t *testing.T, ctx context.Context, srv *testutil.Server, c *client.Client, id, path string) *websocket.Conn {
	t.Helper()
	tok, err := c.CreateToken(ctx, "collab")
	if err != nil {
		t.Fatal(err)
	}
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/api/projects/" + id + "/collab/" + path + "?access_token=" + tok.Token
	conn, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	u, err := yjs.NewDoc().InsertText(collab.TextName, 0, "typed live\n", uint64(rand.Uint32()))
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Write(ctx, websocket.MessageBinary, protocol.EncodeUpdate(u)); err != nil {
		t.Fatal(err)
	}
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("no echo of the edit: %v", err)
		}
		if m, err := protocol.Decode(b); err == nil && m.Type == protocol.MessageSync && m.SyncType == protocol.SyncUpdate {
			return conn
		}
	}
}

// An update relayed from another node (Redis) is counted, with its lag,
// on the node that applies it.
func TestRelayLagMoves(t *testing.T) {
	url := testdb.RedisURL(t)
	st := testutil.NewStore(t, store.SQLite)
	opts := testutil.ServerOptions{Dir: testutil.TraversableTempDir(t), // one project area, as on shared storage
		Config: func(c *config.Config) { c.RedisURL, c.MetricsToken = url, "scrape" }}
	a, b := testutil.NewServer(t, st, opts), testutil.NewServer(t, st, opts)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ca := a.User(t, "relay")
	p, err := ca.CreateProject(ctx, "relay", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := ca.WriteFile(ctx, p.ID, "app.py", []byte("x = 1\n")); err != nil {
		t.Fatal(err)
	}
	cb := &client.Client{BaseURL: b.URL, Token: ca.Token, HTTP: ca.HTTP}
	collabEdit(t, ctx, a, ca, p.ID, "app.py")
	watcher := collabEdit(t, ctx, b, cb, p.ID, "app.py") // b's room is open and subscribed
	// a's room publishes only once it knows b's has the document open
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for n, _ := a.Collab.Peers(p.ID, "app.py"); n == 0; n, _ = a.Collab.Peers(p.ID, "app.py") {
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal("node a did not learn that node b has the document open")
		}
	}
	before, _ := scrape(t, b.URL)
	_, textA := scrape(t, a.URL)
	beforeA := publishedUpdates.FindStringSubmatch(textA)
	collabEdit(t, ctx, a, ca, p.ID, "app.py")
	for { // the edit made on a reaches b's client through b's room
		_, msg, err := watcher.Read(ctx)
		if err != nil {
			t.Fatalf("the edit made on node a did not reach node b: %v", err)
		}
		if m, err := protocol.Decode(msg); err == nil && m.Type == protocol.MessageSync && m.SyncType == protocol.SyncUpdate {
			break
		}
	}
	after, _ := scrape(t, b.URL)
	if after["ecode_collab_relay_lag_seconds"] <= before["ecode_collab_relay_lag_seconds"] {
		t.Errorf("relay lag observations on node b: %v before, %v after", before["ecode_collab_relay_lag_seconds"], after["ecode_collab_relay_lag_seconds"])
	}
	_, textA = scrape(t, a.URL)
	if afterA := publishedUpdates.FindStringSubmatch(textA); beforeA == nil || afterA == nil || afterA[1] == beforeA[1] {
		t.Errorf("updates published by node a: %q before, %q after", beforeA, afterA)
	}
}
