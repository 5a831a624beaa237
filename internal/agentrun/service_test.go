package agentrun

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ecode/internal/agent"
	"ecode/internal/agent/fake"
	"ecode/internal/store"
	"ecode/internal/testutil/testdb"
	"ecode/internal/workspace"
)

// blockingProvider streams one text delta, then waits for cancellation.
type blockingProvider struct{ started chan struct{} }

func (blockingProvider) Name() string { return "anthropic" }
func (p blockingProvider) Stream(ctx context.Context, _ agent.Request, fn func(agent.StreamEvent)) (*agent.Response, error) {
	fn(agent.StreamEvent{Kind: agent.StreamMessageStart})
	fn(agent.StreamEvent{Kind: agent.StreamTextDelta, Text: "working"})
	close(p.started)
	<-ctx.Done()
	return nil, ctx.Err()
}

func newService(t *testing.T) (*Service, *store.Store, string, *workspace.Files) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateUser(ctx, store.User{ID: "u1", Email: "u@x.test", Name: "u", PasswordHash: "h", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateProject(ctx, store.Project{ID: "p1", Name: "p", OwnerID: "u1", CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	files, err := workspace.New(filepath.Join(t.TempDir(), "projects"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := files.Create("p1"); err != nil {
		t.Fatal(err)
	} else {
		p.Close()
	}
	s := New(Config{}, Deps{Store: st, Files: files})
	t.Cleanup(s.Close)
	return s, st, "p1", files
}

// One turn at a time per project; Stop cancels it; the cancelled turn and
// its events are stored.
func TestOneTurnPerProjectAndStop(t *testing.T) {
	s, st, pid, _ := newService(t)
	ctx := context.Background()
	if _, err := s.Start(ctx, pid, "u1", "hi", agent.Mode{}); !errors.Is(err, ErrNotConfigured) {
		t.Fatalf("unconfigured start: %v", err)
	}
	prov := blockingProvider{started: make(chan struct{})}
	s.prov = prov
	turn, err := s.Start(ctx, pid, "u1", "hi", agent.Mode{})
	if err != nil {
		t.Fatal(err)
	}
	<-prov.started
	if _, err := s.Start(ctx, pid, "u1", "again", agent.Mode{}); !errors.Is(err, ErrBusy) {
		t.Fatalf("second start: %v", err)
	}
	if !s.Stop(pid) {
		t.Fatal("Stop found no turn")
	}
	<-turn.Done()
	res, _ := turn.Result()
	if res == nil || res.Stop != agent.StopCancelled {
		t.Fatalf("result %+v", res)
	}
	if s.Running(pid) != nil || s.Stop(pid) {
		t.Error("turn still registered")
	}
	turns, err := st.AgentTurns(ctx, pid, 10, true)
	if err != nil || len(turns) != 1 {
		t.Fatalf("turns %+v %v", turns, err)
	}
	got := turns[0]
	evs, _, _ := turn.Events(0)
	if got.Status != "finished" || got.StopReason != "cancelled" || len(got.Events) != len(evs) || got.Events[0].Type != "turn_started" {
		t.Errorf("stored %s %s %d events (%d emitted)", got.Status, got.StopReason, len(got.Events), len(evs))
	}
	var e agent.Event
	if err := json.Unmarshal(got.Events[len(got.Events)-1].Data, &e); err != nil || e.Type != agent.EvTurnFinished {
		t.Errorf("last stored event %s (%v)", got.Events[len(got.Events)-1].Data, err)
	}
	if b, err := st.AgentSession(ctx, pid); err != nil || len(b) == 0 {
		t.Errorf("session not saved: %v", err)
	}
	// the next turn may start
	s.prov = blockingProvider{started: make(chan struct{})}
	if _, err := s.Start(ctx, pid, "u1", "again", agent.Mode{}); err != nil {
		t.Fatal(err)
	}
}

func TestFilesAdapterConfinesPaths(t *testing.T) {
	_, _, pid, ws := newService(t)
	f := files{ws: ws, projectID: pid}
	ctx := context.Background()
	if err := f.WriteFile(ctx, "a/b.txt", []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if b, err := f.ReadFile(ctx, "a/b.txt"); err != nil || string(b) != "hi" {
		t.Fatalf("read %q %v", b, err)
	}
	if _, err := f.ReadFile(ctx, "nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	for _, bad := range []string{"../x", "/etc/passwd", "a/../../x"} {
		if err := f.WriteFile(ctx, bad, []byte("x")); err == nil {
			t.Errorf("write %q allowed", bad)
		}
		if _, err := f.ReadFile(ctx, bad); err == nil {
			t.Errorf("read %q allowed", bad)
		}
	}
	var seen []string
	if err := f.Walk(ctx, "", func(p string, dir bool, _ int64) error { seen = append(seen, p); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 3 || seen[0] != "." || seen[1] != "a" || seen[2] != "a/b.txt" {
		t.Errorf("walk %v", seen)
	}
	seen = nil
	f.Walk(ctx, "a", func(p string, dir bool, _ int64) error { seen = append(seen, p); return nil })
	if len(seen) != 2 || seen[0] != "a" {
		t.Errorf("walk a: %v", seen)
	}
}

func TestPackagesRefusesShellSyntax(t *testing.T) {
	p := packages{}
	for _, bad := range []string{"a b", "x;rm -rf /", "$(id)", "'q'", "`id`", "a|b", ""} {
		if _, err := p.Install(context.Background(), "npm", []string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := p.Install(context.Background(), "cargo", []string{"serde"}); err == nil {
		t.Error("unknown manager accepted")
	}
}

// A turn that changes files ends with a checkpoint through Deps.Checkpoint.
func TestTurnCheckpoints(t *testing.T) {
	s, st, pid, ws := newService(t)
	var calls []string
	var costs []agent.TurnCost
	s.d.Checkpoint = func(_ context.Context, projectID, userID, label string, cost agent.TurnCost) (string, error) {
		calls = append(calls, projectID+" "+userID+" "+label)
		costs = append(costs, cost)
		return "cp-1", nil
	}
	fk := fake.NewAnthropic(&fake.Transcript{Steps: []fake.Step{
		{Respond: fake.Respond{StopReason: "tool_use", Content: []fake.Content{fake.Tool("write", map[string]string{"file_path": "a.txt", "content": "A\n"})}}},
		{Respond: fake.Respond{StopReason: "end_turn", Content: []fake.Content{fake.Text("Wrote a.txt")}}},
	}})
	t.Cleanup(fk.Close)
	s.prov = agent.NewAnthropic(agent.AnthropicConfig{APIKey: "test-key", BaseURL: fk.URL})
	turn, err := s.Start(context.Background(), pid, "u1", "write a", agent.Mode{})
	if err != nil {
		t.Fatal(err)
	}
	<-turn.Done()
	res, err := turn.Result()
	if err != nil || res.Stop != agent.StopEndTurn || res.CheckpointID != "cp-1" {
		t.Fatalf("result %+v, %v", res, err)
	}
	if len(calls) != 1 || calls[0] != "p1 u1 Wrote a.txt" {
		t.Errorf("checkpoint calls %q", calls)
	}
	// the checkpoint records what the turn cost: every token of its two calls
	if u := res.Metrics.Usage; len(costs) != 1 || costs[0].Tokens == 0 || costs[0].Tokens != u.PromptTokens()+u.OutputTokens {
		t.Errorf("checkpoint cost %+v, turn usage %+v", costs, res.Metrics.Usage)
	}
	if b, err := (files{ws: ws, projectID: pid}).ReadFile(context.Background(), "a.txt"); err != nil || string(b) != "A\n" {
		t.Errorf("a.txt %q %v", b, err)
	}
	turns, _ := st.AgentTurns(context.Background(), pid, 1, true)
	found := false
	for _, e := range turns[0].Events {
		found = found || e.Type == string(agent.EvCheckpoint)
	}
	if !found {
		t.Error("no checkpoint_created event stored")
	}
}

func TestDatabaseQuery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db")
	ctx := context.Background()
	d := database{url: "sqlite:" + path}
	if _, err := d.Query(ctx, "select 1", false); err == nil {
		t.Fatal("query on a missing database succeeded")
	}
	os.WriteFile(path, nil, 0o644)
	if _, err := d.Query(ctx, "create table notes (body text)", false); err == nil {
		t.Fatal("a write succeeded without allow_write")
	}
	if _, err := d.Query(ctx, "create table notes (body text)", true); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Query(ctx, "insert into notes values ('hi'), (NULL)", true); err != nil {
		t.Fatal(err)
	}
	out, err := d.Query(ctx, "select body from notes", false)
	if err != nil || out != "body\nhi\nNULL\n" {
		t.Fatalf("select: %q, %v", out, err)
	}
}

// With a PostgreSQL project database the sql tool works the same way:
// read-only unless the agent asks to write.
func TestDatabaseQueryPostgres(t *testing.T) {
	ctx := context.Background()
	d := database{url: testdb.PostgresURL(t)}
	if _, err := d.Query(ctx, "create table notes (body text)", false); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("a write without allow_write: %v", err)
	}
	if _, err := d.Query(ctx, "create table notes (body text)", true); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Query(ctx, "insert into notes values ('hi'), (NULL)", true); err != nil {
		t.Fatal(err)
	}
	out, err := d.Query(ctx, "select body from notes", false)
	if err != nil || out != "body\nhi\nNULL\n" {
		t.Fatalf("select: %q, %v", out, err)
	}
	if _, err := (database{url: "postgres://nobody@127.0.0.1:1/none"}).Query(ctx, "select 1", false); err == nil {
		t.Error("an unreachable database answered")
	}
}
