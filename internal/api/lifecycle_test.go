package api_test

import (
	"context"
	"errors"
	"hash/fnv"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"ecode/internal/client"
	"ecode/internal/config"
	"ecode/internal/projects"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// Deleting a project with a running app, an open terminal, a running agent
// turn, two collaboration connections and a run-output stream ends every
// one of them within a second of the answer, and leaves no process, mount,
// cgroup, database, file or row of the project behind.
func TestDeleteEndsEverything(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		fk, stalled := stallingModel(t)
		srv := testutil.NewServer(t, st, testutil.ServerOptions{Config: func(c *config.Config) {
			c.AnthropicAPIKey, c.AnthropicBaseURL = "test-key", fk.URL
		}})
		testutil.RequireSandbox(t, testutil.NewSandbox(t))
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		owner, editor := srv.User(t, "owner"), srv.User(t, "editor")
		p, err := owner.CreateProject(ctx, "doomed", "python")
		if err != nil {
			t.Fatal(err)
		}
		if err := owner.Do(ctx, "POST", "/api/projects/"+p.ID+"/members", strings.NewReader(`{"email":"editor@example.test","role":"editor"}`), "application/json", nil); err != nil {
			t.Fatal(err)
		}
		if err := owner.Do(ctx, "POST", "/api/projects/"+p.ID+"/run", nil, "", nil); err != nil {
			t.Fatal(err)
		}
		waitRun(t, srv, owner, p.ID, func(s runState) bool { return s.State == "running" })

		sockets := map[string]*websocket.Conn{
			"terminal": terminalSocket(t, ctx, srv, owner, p.ID),
			"collab 1": dialProject(t, ctx, srv, owner, p.ID, "/collab/main.py"),
			"collab 2": dialProject(t, ctx, srv, editor, p.ID, "/collab/main.py"),
		}
		turn, err := owner.Raw(ctx, "POST", "/api/projects/"+p.ID+"/agent/turns", strings.NewReader(`{"prompt":"take your time"}`), "application/json")
		if err != nil {
			t.Fatal(err)
		}
		defer turn.Body.Close()
		<-stalled
		output, err := owner.Raw(ctx, "GET", "/api/projects/"+p.ID+"/run/output", nil, "")
		if err != nil {
			t.Fatal(err)
		}
		defer output.Body.Close()
		uid := projectUID(p.ID)
		if n := processesOf(t, uid); n == 0 {
			t.Fatal("no process of the project runs before the delete (the test is wrong)")
		}

		start := time.Now()
		if err := owner.Do(ctx, "DELETE", "/api/projects/"+p.ID, nil, "", nil); err != nil {
			t.Fatal(err)
		}
		t.Logf("DELETE answered in %v", time.Since(start))
		within, stop := context.WithTimeout(ctx, time.Second)
		defer stop()
		for name, conn := range sockets {
			if code := closeStatus(within, conn); code != 4410 {
				t.Errorf("%s: closed with %d, want 4410 (project deleted)", name, code)
			}
		}
		for name, body := range map[string]io.ReadCloser{"agent turn stream": turn.Body, "run output stream": output.Body} {
			if err := readToEnd(within, body); err != nil {
				t.Errorf("%s did not end within a second of the delete: %v", name, err)
			}
		}
		if n := srv.Runner.Active(); n != 0 {
			t.Errorf("%d sandboxes still open", n)
		}
		if n := processesOf(t, uid); n != 0 {
			t.Errorf("%d processes of the project still run", n)
		}
		assertProjectGone(t, srv, owner, p.ID)
	})
}

// A deletion interrupted after any of its steps (as by a crash) is finished
// by the next server on the same data, before it takes requests; meanwhile
// the project is invisible.
func TestDeleteFinishesAfterCrash(t *testing.T) {
	steps := []projects.DeleteStep{projects.StepMarked, projects.StepConnections, projects.StepAgent,
		projects.StepSandbox, projects.StepDeployment, projects.StepCollab, projects.StepCheckpoints, projects.StepDatabase, projects.StepFiles}
	for _, step := range steps {
		t.Run(string(step), func(t *testing.T) {
			t.Parallel()
			st := testutil.NewStore(t, store.SQLite)
			crash := errors.New("crash")
			srv := testutil.NewServer(t, st, testutil.ServerOptions{DeleteStep: func(_ string, s projects.DeleteStep) error {
				if s == step {
					return crash
				}
				return nil
			}})
			testutil.RequireSandbox(t, testutil.NewSandbox(t))
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c := srv.User(t, "owner")
			p, err := c.CreateProject(ctx, "half-deleted", "static")
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Do(ctx, "POST", "/api/projects/"+p.ID+"/checkpoints", strings.NewReader(`{"message":"before"}`), "application/json", nil); err != nil {
				t.Fatal(err)
			}
			terminalSocket(t, ctx, srv, c, p.ID) // the sandbox is up
			err = c.Do(ctx, "DELETE", "/api/projects/"+p.ID, nil, "", nil)
			if e, ok := err.(*client.Error); !ok || e.Status != http.StatusInternalServerError {
				t.Fatalf("delete interrupted after %s: %v, want a 500", step, err)
			}
			err = c.Do(ctx, "GET", "/api/projects/"+p.ID, nil, "", nil)
			if e, ok := err.(*client.Error); !ok || e.Status != http.StatusNotFound {
				t.Fatalf("a project half deleted is visible: %v", err)
			}
			// The next start on the same data finishes the deletion.
			next := testutil.NewServer(t, st, testutil.ServerOptions{Dir: srv.Dir})
			if n := processesOf(t, projectUID(p.ID)); n != 0 {
				t.Errorf("%d processes of the project still run", n)
			}
			assertProjectGone(t, next, c, p.ID)
		})
	}
}

// assertProjectGone checks that nothing of a deleted project is left: its
// files and volume, database, mounts, cgroups and rows.
func assertProjectGone(t *testing.T, srv *testutil.Server, c *client.Client, id string) {
	t.Helper()
	ctx := context.Background()
	if _, err := os.Stat(srv.Files.Area(id)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the project's folder is still there: %v", err)
	}
	if srv.DBs.Postgres() {
		t.Errorf("test expects SQLite project databases")
	}
	if ids, err := srv.Store.ProjectsBeingDeleted(ctx); err != nil || len(ids) != 0 {
		t.Errorf("projects being deleted: %v %v", ids, err)
	}
	if _, err := srv.Store.ProjectForMember(ctx, id, mustMe(t, c)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("project row: %v", err)
	}
	if cps, err := srv.Store.ListCheckpoints(ctx, id, 10); err != nil || len(cps) != 0 {
		t.Errorf("checkpoint rows left: %d %v", len(cps), err)
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mounts), id) {
		t.Errorf("a mount of the project is left")
	}
	if dir := findDir("/sys/fs/cgroup", id, 5); dir != "" {
		t.Errorf("a cgroup of the project is left: %s", dir)
	}
}

func mustMe(t *testing.T, c *client.Client) string {
	t.Helper()
	me, err := c.Me(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return me.ID
}

// terminalSocket opens a terminal in the project and attaches to it.
func terminalSocket(t *testing.T, ctx context.Context, srv *testutil.Server, c *client.Client, id string) *websocket.Conn {
	t.Helper()
	var term struct{ ID string }
	if err := c.Do(ctx, "POST", "/api/projects/"+id+"/terminals", strings.NewReader(`{"rows":24,"cols":80}`), "application/json", &term); err != nil {
		t.Fatal(err)
	}
	return dialProject(t, ctx, srv, c, id, "/terminals/"+term.ID+"/ws")
}

// dialProject opens a WebSocket to a project route with a new token of c.
func dialProject(t *testing.T, ctx context.Context, srv *testutil.Server, c *client.Client, id, path string) *websocket.Conn {
	t.Helper()
	tok, err := c.CreateToken(ctx, "ws")
	if err != nil {
		t.Fatal(err)
	}
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/api/projects/" + id + path + "?access_token=" + tok.Token
	conn, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	return conn
}

// closeStatus reads until the connection closes and returns its close code
// (-1 when ctx ended first or it broke without one).
func closeStatus(ctx context.Context, conn *websocket.Conn) websocket.StatusCode {
	for {
		if _, _, err := conn.Read(ctx); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

// readToEnd reads an event stream until it ends, or fails when ctx ends.
func readToEnd(ctx context.Context, body io.ReadCloser) error {
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, body)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		body.Close()
		return ctx.Err()
	}
}

// projectUID is the uid the project's sandbox runs as (package runner).
func projectUID(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return 1_000_000 + int(h.Sum32()&(1<<24-1))
}

// processesOf counts live (not zombie) processes running as uid.
func processesOf(t *testing.T, uid int) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if err != nil {
			continue
		}
		var state, uidLine string
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "State:"); ok {
				state = strings.TrimSpace(v)
			}
			if v, ok := strings.CutPrefix(line, "Uid:"); ok {
				uidLine = v
			}
		}
		if f := strings.Fields(uidLine); len(f) > 0 && f[0] == strconv.Itoa(uid) && !strings.HasPrefix(state, "Z") {
			n++
		}
	}
	return n
}

// findDir returns a directory under root (at most depth deep) whose name
// contains s, or "".
func findDir(root, s string, depth int) string {
	entries, err := os.ReadDir(root)
	if err != nil || depth == 0 {
		return ""
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		p := filepath.Join(root, e.Name())
		if strings.Contains(e.Name(), s) {
			return p
		}
		if found := findDir(p, s, depth-1); found != "" {
			return found
		}
	}
	return ""
}

// The owner hands a project to another account: it becomes the owner, the
// previous owner stays as an editor, and strangers still see nothing.
func TestTransferProject(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		srv := testutil.NewServer(t, st)
		ctx := context.Background()
		ann, ben, eve := srv.User(t, "ann"), srv.User(t, "ben"), srv.User(t, "eve")
		p, err := ann.CreateProject(ctx, "handed over", "static")
		if err != nil {
			t.Fatal(err)
		}
		err = ann.Do(ctx, "POST", "/api/projects/"+p.ID+"/transfer", strings.NewReader(`{"email":"nobody@example.test"}`), "application/json", nil)
		if e, ok := err.(*client.Error); !ok || e.Status != http.StatusBadRequest {
			t.Fatalf("transfer to an unknown account: %v", err)
		}
		err = eve.Do(ctx, "POST", "/api/projects/"+p.ID+"/transfer", strings.NewReader(`{"email":"eve@example.test"}`), "application/json", nil)
		if e, ok := err.(*client.Error); !ok || e.Status != http.StatusNotFound {
			t.Fatalf("a stranger's transfer: %v", err)
		}
		if err := ann.Do(ctx, "POST", "/api/projects/"+p.ID+"/transfer", strings.NewReader(`{"email":"ben@example.test"}`), "application/json", nil); err != nil {
			t.Fatal(err)
		}
		var got struct {
			OwnerID string `json:"owner_id"`
			Role    string `json:"role"`
		}
		if err := ben.Do(ctx, "GET", "/api/projects/"+p.ID, nil, "", &got); err != nil || got.Role != "owner" || got.OwnerID != mustMe(t, ben) {
			t.Fatalf("new owner sees %+v, %v", got, err)
		}
		if err := ann.Do(ctx, "GET", "/api/projects/"+p.ID, nil, "", &got); err != nil || got.Role != "editor" {
			t.Fatalf("previous owner sees %+v, %v", got, err)
		}
		err = ann.Do(ctx, "DELETE", "/api/projects/"+p.ID, nil, "", nil)
		if e, ok := err.(*client.Error); !ok || e.Status != http.StatusForbidden {
			t.Fatalf("the previous owner deletes: %v", err)
		}
	})
}
