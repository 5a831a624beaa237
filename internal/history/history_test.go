package history_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"ecode/internal/checkpoint"
	"ecode/internal/history"
	"ecode/internal/projectdb"
	"ecode/internal/runner"
	"ecode/internal/sandbox"
	"ecode/internal/store"
	"ecode/internal/testutil/testdb"
	"ecode/internal/workspace"
)

// env is a history service over a real store, object store, project
// folders and runner (no isolation: these tests run nothing).
type env struct {
	st      *store.Store
	objects *checkpoint.DirStore
	files   *workspace.Files
	h       *history.Service
	user    string
}

func newEnv(t *testing.T, st *store.Store) *env {
	t.Helper()
	dir := t.TempDir()
	objects, err := checkpoint.NewDirStore(filepath.Join(dir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := workspace.New(filepath.Join(dir, "projects"), nil)
	if err != nil {
		t.Fatal(err)
	}
	sb := sandbox.None()
	t.Cleanup(func() { sb.Close() })
	runs := runner.New(sb, files, nil, runner.Options{})
	t.Cleanup(func() { runs.Close() })
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	h := history.New(st, checkpoint.NewRepo(objects), files, projectdb.NewSQLite(files), runs, func() time.Time { return now })
	ctx := context.Background()
	u, err := st.CreateUser(ctx, store.User{ID: "u1", Email: "ann@example.com", Name: "Ann"})
	if err != nil {
		t.Fatal(err)
	}
	return &env{st: st, objects: objects, files: files, h: h, user: u.ID}
}

// project creates a project with files.
func (e *env) project(t *testing.T, id string, files map[string]string) {
	t.Helper()
	if _, err := e.st.CreateProject(context.Background(), store.Project{ID: id, Name: id, OwnerID: e.user}); err != nil {
		t.Fatal(err)
	}
	p, err := e.files.Create(id)
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	for name, data := range files {
		e.write(t, id, name, data)
	}
}

func (e *env) write(t *testing.T, id, name, data string) {
	t.Helper()
	if err := e.files.WriteFile(id, name, []byte(data)); err != nil {
		t.Fatal(err)
	}
}

func (e *env) read(t *testing.T, id, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.files.Dir(id), name))
	if errors.Is(err, os.ErrNotExist) {
		return "<none>"
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (e *env) conversation(t *testing.T, id string) string {
	t.Helper()
	b, err := e.st.AgentSession(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (e *env) setConversation(t *testing.T, id, data string) {
	t.Helper()
	if err := e.st.SaveAgentSession(context.Background(), id, []byte(data), time.Now()); err != nil {
		t.Fatal(err)
	}
}

// TestRestoreBringsBackFilesAndConversation: a checkpoint taken, then
// files and the agent conversation changed; restoring it brings both
// back, after checkpointing the present so the restore can be undone.
func TestRestoreBringsBackFilesAndConversation(t *testing.T) {
	testdb.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		e.project(t, "p1", map[string]string{"a.txt": "one\n", "src/keep.js": "keep\n"})
		e.setConversation(t, "p1", `{"turns":1}`)
		first, err := e.h.Create(ctx, "p1", e.user, "user", "first")
		if err != nil {
			t.Fatal(err)
		}
		e.write(t, "p1", "a.txt", "two\n")
		e.write(t, "p1", "b.txt", "new\n")
		e.setConversation(t, "p1", `{"turns":2}`)

		diff, err := e.h.Diff(ctx, "p1", first.ID, "current")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]checkpoint.Status{}
		for _, f := range diff.Files {
			got[f.Path] = f.Status
		}
		if len(got) != 2 || got["a.txt"] == "" || got["b.txt"] == "" {
			t.Fatalf("diff against the present = %v, want a.txt changed and b.txt added", got)
		}

		res, err := e.h.Restore(ctx, "p1", first.ID, e.user, false)
		if err != nil {
			t.Fatal(err)
		}
		if a, b, k := e.read(t, "p1", "a.txt"), e.read(t, "p1", "b.txt"), e.read(t, "p1", "src/keep.js"); a != "one\n" || b != "<none>" || k != "keep\n" {
			t.Fatalf("after the restore a.txt=%q b.txt=%q keep.js=%q", a, b, k)
		}
		if c := e.conversation(t, "p1"); c != `{"turns":1}` {
			t.Fatalf("conversation after the restore = %s", c)
		}
		if res.Restored.ID != first.ID || res.Backup.ID == "" || res.Backup.Trigger != "restore" {
			t.Fatalf("result = %+v", res)
		}
		// The backup holds the present as it was: restoring it undoes the restore.
		if b, err := e.h.ReadFile(ctx, "p1", res.Backup.ID, "b.txt"); err != nil || string(b) != "new\n" {
			t.Fatalf("b.txt in the backup = %q, %v", b, err)
		}
		if _, err := e.h.Restore(ctx, "p1", res.Backup.ID, e.user, false); err != nil {
			t.Fatal(err)
		}
		if a, c := e.read(t, "p1", "a.txt"), e.conversation(t, "p1"); a != "two\n" || c != `{"turns":2}` {
			t.Fatalf("after undoing: a.txt=%q conversation=%s", a, c)
		}
		list, err := e.h.List(ctx, "p1")
		if err != nil || len(list) != 3 {
			t.Fatalf("checkpoints = %d, %v; want first and two backups", len(list), err)
		}
	})
}

// TestCheckpointsOfOtherProjectsAreNotFound: a checkpoint is reached only
// through its own project.
func TestCheckpointsOfOtherProjectsAreNotFound(t *testing.T) {
	testdb.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		e.project(t, "p1", map[string]string{"a.txt": "mine\n"})
		e.project(t, "p2", map[string]string{"a.txt": "theirs\n"})
		cp, err := e.h.Create(ctx, "p1", e.user, "user", "p1's")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.h.ReadFile(ctx, "p2", cp.ID, "a.txt"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("p1's checkpoint read through p2: %v, want not found", err)
		}
		if _, err := e.h.Restore(ctx, "p2", cp.ID, e.user, false); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("p1's checkpoint restored into p2: %v, want not found", err)
		}
		if got := e.read(t, "p2", "a.txt"); got != "theirs\n" {
			t.Fatalf("p2's a.txt = %q", got)
		}
	})
}

// TestForkCopiesACheckpoint: a fork gets the checkpoint's files and a
// first checkpoint of its own; the original is untouched.
func TestForkCopiesACheckpoint(t *testing.T) {
	testdb.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		e.project(t, "p1", map[string]string{"app.js": "v1\n"})
		cp, err := e.h.Create(ctx, "p1", e.user, "user", "v1")
		if err != nil {
			t.Fatal(err)
		}
		e.write(t, "p1", "app.js", "v2\n")
		e.project(t, "p3", nil)
		if err := e.h.Fork(ctx, "p1", cp.ID, "p3", e.user); err != nil {
			t.Fatal(err)
		}
		if got, orig := e.read(t, "p3", "app.js"), e.read(t, "p1", "app.js"); got != "v1\n" || orig != "v2\n" {
			t.Fatalf("fork app.js=%q, original=%q", got, orig)
		}
		list, err := e.h.List(ctx, "p3")
		if err != nil || len(list) != 1 || list[0].Trigger != "fork" {
			t.Fatalf("fork's checkpoints = %+v, %v", list, err)
		}
	})
}

// TestInterruptedRestoreIsFinishedBeforeUse: a restore whose last step
// (the conversation) fails leaves the project marked; nothing opens it
// until recovery succeeds, and recovery then finishes the restore: files
// and conversation both of the checkpoint, never a mix.
func TestInterruptedRestoreIsFinishedBeforeUse(t *testing.T) {
	testdb.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		e.project(t, "p1", map[string]string{"a.txt": "old\n"})
		e.setConversation(t, "p1", `{"turns":"old"}`)
		old, err := e.h.Create(ctx, "p1", e.user, "user", "old")
		if err != nil {
			t.Fatal(err)
		}
		e.write(t, "p1", "a.txt", "new\n")
		e.setConversation(t, "p1", `{"turns":"new"}`)

		// Take the old conversation's object away: the restore's last step fails.
		_, cp, err := e.h.Get(ctx, "p1", old.ID)
		if err != nil || cp.Conversation == "" {
			t.Fatalf("checkpoint %+v, %v: want a conversation", cp, err)
		}
		saved := e.takeObject(t, cp.Conversation)
		if _, err := e.h.Restore(ctx, "p1", old.ID, e.user, false); err == nil {
			t.Fatal("the restore succeeded without its conversation")
		}
		if _, err := e.files.Project("p1"); err == nil {
			t.Fatal("the project opened with its restore unfinished")
		}

		if _, err := e.objects.Put(ctx, bytes.NewReader(saved)); err != nil {
			t.Fatal(err)
		}
		p, err := e.files.Project("p1") // recovery runs on first use
		if err != nil {
			t.Fatalf("open after the object came back: %v", err)
		}
		p.Close()
		if a, c := e.read(t, "p1", "a.txt"), e.conversation(t, "p1"); a != "old\n" || c != `{"turns":"old"}` {
			t.Fatalf("after recovery a.txt=%q conversation=%s, want the checkpoint's both", a, c)
		}
		if err := e.h.Guard("p1"); err != nil {
			t.Fatalf("guard after recovery: %v", err)
		}
	})
}

// takeObject deletes an object from the store and returns its content.
func (e *env) takeObject(t *testing.T, h checkpoint.Hash) []byte {
	t.Helper()
	ctx := context.Background()
	rc, err := e.objects.Get(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.objects.Delete(ctx, h); err != nil {
		t.Fatal(err)
	}
	return b
}
