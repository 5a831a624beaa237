package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"ecode/internal/checkpoint"
	"ecode/internal/client"

	"github.com/coder/websocket"
)

type checkpointJSON struct {
	ID      string `json:"id"`
	Message string `json:"message"`
	Trigger string `json:"trigger"`
	Metrics struct {
		FilesModified int              `json:"files_modified"`
		LinesAdded    int              `json:"lines_added"`
		DBTables      map[string]int64 `json:"db_tables"`
	} `json:"metrics"`
}

func sqlExec(t *testing.T, c *client.Client, id, py string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"command": "python3 -c " + shellQuote(py)})
	var res struct {
		ExitCode int    `json:"exit_code"`
		Stdout   string `json:"stdout"`
		Stderr   string `json:"stderr"`
	}
	if err := c.Do(context.Background(), "POST", "/api/projects/"+id+"/exec", strings.NewReader(string(body)), "application/json", &res); err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("python: %s", res.Stderr)
	}
	return strings.TrimSpace(res.Stdout)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

const dbApp = `import os, sqlite3, sys
db = sqlite3.connect(os.environ["DATABASE_PATH"])
db.execute("create table if not exists notes (body text)")
for a in sys.argv[1:]: db.execute("insert into notes values (?)", (a,))
db.commit()
print(",".join(r[0] for r in db.execute("select body from notes order by rowid")))
`

func TestCheckpointRestoreFilesAndDatabase(t *testing.T) {
	srv, c := sandboxServer(t)
	ctx := context.Background()
	p, _ := c.CreateProject(ctx, "cp", "static")
	id := p.ID
	run := func(args ...string) string {
		py := strings.Replace(dbApp, "sys.argv[1:]", "["+quoteList(args)+"]", 1)
		return sqlExec(t, c, id, py)
	}
	if got := run("first"); got != "first" {
		t.Fatalf("app db: %q", got)
	}
	c.WriteFile(ctx, id, "index.html", []byte("<h1>version one</h1>"))
	var cp1 checkpointJSON
	if err := c.Do(ctx, "POST", "/api/projects/"+id+"/checkpoints", strings.NewReader(`{"message":"one"}`), "application/json", &cp1); err != nil {
		t.Fatal(err)
	}
	if cp1.Trigger != "user" || cp1.Metrics.DBTables["notes"] != 1 {
		t.Fatalf("checkpoint: %+v", cp1)
	}
	c.WriteFile(ctx, id, "index.html", []byte("<h1>version two</h1>\n<p>more</p>"))
	c.WriteFile(ctx, id, "new.txt", []byte("later"))
	if got := run("second"); got != "first,second" {
		t.Fatalf("app db: %q", got)
	}

	var diff struct {
		Files []struct {
			Path   string `json:"path"`
			Status string `json:"status"`
			Patch  string `json:"patch"`
		} `json:"files"`
		Tables []struct {
			Name          string
			Before, After int64
		} `json:"tables"`
	}
	if err := c.Do(ctx, "GET", "/api/projects/"+id+"/checkpoints/"+cp1.ID+"/diff?against=current", nil, "", &diff); err != nil {
		t.Fatal(err)
	}
	if len(diff.Files) != 2 || len(diff.Tables) != 1 || diff.Tables[0].Before != 1 || diff.Tables[0].After != 2 {
		t.Fatalf("diff vs now: %+v", diff)
	}

	var res struct {
		Restored   checkpointJSON `json:"restored"`
		Backup     checkpointJSON `json:"backup"`
		DBRestored bool           `json:"db_restored"`
	}
	if err := c.Do(ctx, "POST", "/api/projects/"+id+"/checkpoints/"+cp1.ID+"/restore", strings.NewReader(`{"database":true}`), "application/json", &res); err != nil {
		t.Fatal(err)
	}
	if !res.DBRestored || res.Backup.Trigger != "restore" {
		t.Fatalf("restore: %+v", res)
	}
	if b, _ := c.ReadFile(ctx, id, "index.html"); string(b) != "<h1>version one</h1>" {
		t.Errorf("index.html after restore: %q", b)
	}
	if _, err := c.ReadFile(ctx, id, "new.txt"); err == nil {
		t.Error("a file created after the checkpoint survived the restore")
	}
	if got := run(); got != "first" {
		t.Errorf("database after restore: %q, want the checkpoint's rows only", got)
	}

	// Undo: restoring the backup brings back the later state, rows included.
	if err := c.Do(ctx, "POST", "/api/projects/"+id+"/checkpoints/"+res.Backup.ID+"/restore", nil, "", nil); err != nil {
		t.Fatal(err)
	}
	if b, _ := c.ReadFile(ctx, id, "new.txt"); string(b) != "later" {
		t.Errorf("undo lost new.txt: %q", b)
	}
	if got := run(); got != "first,second" {
		t.Errorf("database after undo: %q", got)
	}

	// Read-only view and fork.
	b, err := c.ReadFile(ctx, id, "index.html")
	if err != nil || !strings.Contains(string(b), "version two") {
		t.Fatalf("current file: %q %v", b, err)
	}
	var old []byte
	if err := c.Do(ctx, "GET", "/api/projects/"+id+"/checkpoints/"+cp1.ID+"/files/index.html", nil, "", &old); err != nil || string(old) != "<h1>version one</h1>" {
		t.Errorf("checkpoint file view: %q %v", old, err)
	}
	var fork struct{ ID string }
	if err := c.Do(ctx, "POST", "/api/projects/"+id+"/checkpoints/"+cp1.ID+"/fork", strings.NewReader(`{"name":"forked"}`), "application/json", &fork); err != nil {
		t.Fatal(err)
	}
	if b, _ := c.ReadFile(ctx, fork.ID, "index.html"); string(b) != "<h1>version one</h1>" {
		t.Errorf("fork's index.html: %q", b)
	}
	if got := sqlExec(t, c, fork.ID, strings.Replace(dbApp, "sys.argv[1:]", "[]", 1)); got != "first" {
		t.Errorf("fork's database: %q", got)
	}
	var list []checkpointJSON
	c.Do(ctx, "GET", "/api/projects/"+id+"/checkpoints", nil, "", &list)
	if len(list) < 3 {
		t.Errorf("timeline: %+v", list)
	}
	// Another user's project: 404.
	stranger := srv.User(t, "stranger")
	err = stranger.Do(ctx, "GET", "/api/projects/"+id+"/checkpoints", nil, "", nil)
	wantStatus(t, err, http.StatusNotFound)
	err = c.Do(ctx, "POST", "/api/projects/"+id+"/checkpoints/nosuch/restore", nil, "", nil)
	wantStatus(t, err, http.StatusNotFound)
}

func quoteList(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = `"` + a + `"`
	}
	return strings.Join(q, ",")
}

func TestCheckpointGCKeepsReferencedObjects(t *testing.T) {
	srv, c := sandboxServer(t)
	ctx := context.Background()
	p, _ := c.CreateProject(ctx, "gc", "static")
	for i := range 3 {
		c.WriteFile(ctx, p.ID, "index.html", []byte(strings.Repeat("x", i+1)))
		if err := c.Do(ctx, "POST", "/api/projects/"+p.ID+"/checkpoints", strings.NewReader(`{}`), "application/json", nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := srv.History.GC(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := srv.History.Fsck(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("fsck after GC: %+v, %v", rep, err)
	}
}

func TestRestoreBringsBackTheConversation(t *testing.T) {
	srv, c := sandboxServer(t)
	ctx := context.Background()
	p, _ := c.CreateProject(ctx, "conv", "blank")
	at := srv.Clock.Now()
	if err := srv.Store.SaveAgentSession(ctx, p.ID, []byte(`{"Messages":[{"role":"user"}]}`), at); err != nil {
		t.Fatal(err)
	}
	var cp checkpointJSON
	if err := c.Do(ctx, "POST", "/api/projects/"+p.ID+"/checkpoints", strings.NewReader(`{"message":"talked once"}`), "application/json", &cp); err != nil {
		t.Fatal(err)
	}
	srv.Store.SaveAgentSession(ctx, p.ID, []byte(`{"Messages":[{"role":"user"},{"role":"assistant"},{"role":"user"}]}`), at)
	if err := c.Do(ctx, "POST", "/api/projects/"+p.ID+"/checkpoints/"+cp.ID+"/restore", nil, "", nil); err != nil {
		t.Fatal(err)
	}
	got, err := srv.Store.AgentSession(ctx, p.ID)
	if err != nil || string(got) != `{"Messages":[{"role":"user"}]}` {
		t.Fatalf("conversation after restore: %s, %v", got, err)
	}
}

// readEvents reads a whole Server-Sent Events body (one data line an event).
func readEvents(t *testing.T, resp *http.Response) []sseEvent {
	t.Helper()
	var evs []sseEvent
	var cur sseEvent
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.name != "" || cur.data != "" {
				evs = append(evs, cur)
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, "event:"):
			cur.name = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			cur.data = strings.TrimSpace(strings.TrimPrefix(line, "data:"))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestCheckpointRestoreStreamsProgress(t *testing.T) {
	_, c := sandboxServer(t)
	ctx := context.Background()
	p, _ := c.CreateProject(ctx, "cp-sse", "static")
	if got := sqlExec(t, c, p.ID, strings.Replace(dbApp, "sys.argv[1:]", `["kept"]`, 1)); got != "kept" {
		t.Fatalf("app db: %q", got)
	}
	c.WriteFile(ctx, p.ID, "index.html", []byte("<h1>one</h1>"))
	var cp checkpointJSON
	if err := c.Do(ctx, "POST", "/api/projects/"+p.ID+"/checkpoints", strings.NewReader(`{"message":"one"}`), "application/json", &cp); err != nil {
		t.Fatal(err)
	}
	c.WriteFile(ctx, p.ID, "index.html", []byte("<h1>two</h1>"))

	restore := func(cid string) *http.Response {
		req, err := http.NewRequestWithContext(ctx, "POST", c.BaseURL+"/api/projects/"+p.ID+"/checkpoints/"+cid+"/restore",
			strings.NewReader(`{"database":true}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "text/event-stream")
		if c.Token != "" {
			req.Header.Set("Authorization", "Bearer "+c.Token)
		}
		resp, err := c.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}

	resp := restore(cp.ID)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("restore answered %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	evs := readEvents(t, resp)
	if len(evs) == 0 {
		t.Fatal("no events")
	}
	files := false
	for _, e := range evs[:len(evs)-1] {
		if e.name != "progress" {
			t.Fatalf("event %q before the end: %s", e.name, e.data)
		}
		var pr struct {
			Phase       string
			Done, Total int
		}
		if err := json.Unmarshal([]byte(e.data), &pr); err != nil {
			t.Fatalf("progress %s: %v", e.data, err)
		}
		if pr.Phase == "files" && pr.Total > 0 {
			files = true
		}
	}
	if !files {
		t.Errorf("no files progress with a total: %+v", evs)
	}
	last := evs[len(evs)-1]
	var res struct {
		Restored   checkpointJSON `json:"restored"`
		Backup     checkpointJSON `json:"backup"`
		DBRestored *bool          `json:"db_restored"`
	}
	if err := json.Unmarshal([]byte(last.data), &res); last.name != "result" || err != nil {
		t.Fatalf("last event %q %s: %v", last.name, last.data, err)
	}
	if res.DBRestored == nil || !*res.DBRestored || res.Restored.ID != cp.ID || res.Backup.Trigger != "restore" {
		t.Fatalf("result: %s", last.data)
	}
	if b, _ := c.ReadFile(ctx, p.ID, "index.html"); string(b) != "<h1>one</h1>" {
		t.Errorf("index.html after restore: %q", b)
	}

	// An unknown checkpoint is a plain 404, not a stream.
	if resp := restore("nosuch"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown checkpoint: %d", resp.StatusCode)
	}
}

func TestCheckpointRetention(t *testing.T) {
	srv, c := sandboxServer(t)
	srv.History.SetRetention(checkpoint.RetentionPolicy{KeepLast: 2})
	ctx := context.Background()
	p, _ := c.CreateProject(ctx, "keep", "blank")
	if err := c.Do(ctx, "POST", "/api/projects/"+p.ID+"/checkpoints", strings.NewReader(`{"message":"mine"}`), "application/json", nil); err != nil {
		t.Fatal(err)
	}
	// Automatic checkpoints (as the agent makes) beyond the newest two go.
	for i := range 4 {
		srv.Clock.Advance(time.Minute) // each checkpoint newer than the last
		c.WriteFile(ctx, p.ID, "f.txt", []byte(strings.Repeat("x", i+1)))
		if _, err := srv.History.Create(ctx, p.ID, "", "agent", "turn"); err != nil {
			t.Fatal(err)
		}
	}
	var list []checkpointJSON
	if err := c.Do(ctx, "GET", "/api/projects/"+p.ID+"/checkpoints", nil, "", &list); err != nil {
		t.Fatal(err)
	}
	var agent, user int
	for _, cp := range list {
		if cp.Trigger == "user" {
			user++
		} else {
			agent++
		}
	}
	if user != 1 || agent != 2 {
		t.Fatalf("kept %d user and %d agent checkpoints, want 1 and 2: %+v", user, agent, list)
	}
	if _, err := srv.History.GC(ctx); err != nil {
		t.Fatal(err)
	}
	if rep, err := srv.History.Fsck(ctx); err != nil || !rep.OK() {
		t.Fatalf("fsck: %+v %v", rep, err)
	}
}

// A restore changes the files under an open terminal: the shell stays, and
// sees the restored text.
func TestRestoreKeepsTerminals(t *testing.T) {
	srv, c := sandboxServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, _ := c.CreateProject(ctx, "keep", "blank")
	if err := c.WriteFile(ctx, p.ID, "note.txt", []byte("first text\n")); err != nil {
		t.Fatal(err)
	}
	var cp struct{ ID string }
	if err := c.Do(ctx, "POST", "/api/projects/"+p.ID+"/checkpoints", strings.NewReader(`{"message":"first"}`), "application/json", &cp); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteFile(ctx, p.ID, "note.txt", []byte("second text\n")); err != nil {
		t.Fatal(err)
	}
	var term struct{ ID string }
	if err := c.Do(ctx, "POST", "/api/projects/"+p.ID+"/terminals", strings.NewReader(`{"rows":24,"cols":80}`), "application/json", &term); err != nil {
		t.Fatal(err)
	}
	tok, _ := c.CreateToken(ctx, "ws")
	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http") + "/api/projects/" + p.ID + "/terminals/" + term.ID + "/ws?access_token=" + tok.Token
	conn, _, err := websocket.Dial(ctx, wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(websocket.StatusNormalClosure, "")
	conn.Write(ctx, websocket.MessageBinary, []byte("echo shell-$$; cat note.txt; echo before-$((1+1))\n"))
	screen := readUntil(t, ctx, conn, "before-2")
	if !strings.Contains(screen, "second text") {
		t.Fatalf("before the restore: %q", screen)
	}
	if err := c.Do(ctx, "POST", "/api/projects/"+p.ID+"/checkpoints/"+cp.ID+"/restore", nil, "", nil); err != nil {
		t.Fatal(err)
	}
	conn.Write(ctx, websocket.MessageBinary, []byte("cat note.txt; echo after-$((2+1))\n"))
	screen = readUntil(t, ctx, conn, "after-3")
	if !strings.Contains(screen, "first text") {
		t.Errorf("the terminal does not see the restored file: %q", screen)
	}
}
