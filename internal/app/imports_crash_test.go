package app_test

import (
	"archive/zip"
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"ecode/internal/app"
	"ecode/internal/imports"
	"ecode/internal/jobs"
	"ecode/internal/store"
	"ecode/internal/testutil"
	"ecode/internal/testutil/testdb"
)

// TestImportJobChild is the process TestKilledImportRunsAgainAfterRestart
// kills: it works the queue of the store named in ECODE_TEST_IMPORT_CHILD;
// each import job prints RUNNING and waits for ever.
func TestImportJobChild(t *testing.T) {
	url := os.Getenv("ECODE_TEST_IMPORT_CHILD")
	if url == "" {
		t.Skip("only run as a child process of TestKilledImportRunsAgainAfterRestart")
	}
	ctx := context.Background()
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	q, err := jobs.New(ctx, jobs.Options{Store: st, Poll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	jobs.Handle(q, func(ctx context.Context, j imports.Job, _ int) error {
		fmt.Printf("RUNNING %s\n", j.ImportID)
		select {}
	})
	q.Run(ctx)
}

// An import whose process is killed (SIGKILL) mid-run, its project folder
// half made and its staging files half written, is run again by the queue
// once the job is past the time a job may run: the zip import starts over
// and succeeds with nothing of the first attempt left; the Git import,
// whose access token died with the process, ends as failed, saying why,
// with nothing left.
func TestKilledImportRunsAgainAfterRestart(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			url := filepath.Join(t.TempDir(), "ecode.db")
			if engine == store.Postgres {
				url = testdb.PostgresURL(t)
			}
			ctx := context.Background()
			st, err := store.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			if err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			killedImports(t, st, url)
		})
	}
}

func killedImports(t *testing.T, st *store.Store, url string) {
	ctx := context.Background()
	dir := testutil.TraversableTempDir(t)
	u, err := st.CreateUser(ctx, store.User{ID: "crashuser", Email: "crash@example.com", Name: "crash", CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	zipImp := store.Import{ID: "impzip", UserID: u.ID, Source: "zip", Name: "half", Status: store.ImportRunning,
		Progress: `{"step":"creating"}`, ProjectID: "halfmadeproject1", CreatedAt: now, UpdatedAt: now}
	gitImp := store.Import{ID: "impgit", UserID: u.ID, Source: "git", Name: "private", Status: store.ImportRunning,
		Progress: `{"step":"fetching"}`, ProjectID: "halfmadeproject2", CreatedAt: now, UpdatedAt: now}
	stageZip, stageGit := filepath.Join(dir, "imports", zipImp.ID), filepath.Join(dir, "imports", gitImp.ID)
	writeStage(t, stageZip, `{"url":"","ref":"","has_token":false}`, map[string]string{"site/index.html": "<h1>again</h1>"})
	writeStage(t, stageGit, `{"url":"https://git.example.com/r.git","ref":"","has_token":true}`, nil)
	os.MkdirAll(filepath.Join(stageZip, "files.hoist"), 0o750) // the first attempt was hoisting
	enqueue(t, st, zipImp, gitImp)
	runImportChild(t, url, 2)

	second := testutil.NewServer(t, st, testutil.ServerOptions{Dir: dir,
		JobRescueAfter: 3 * time.Second, // the killed child's jobs are soon past it
		Built: func(s *app.Server) {
			for _, id := range []string{zipImp.ProjectID, gitImp.ProjectID} { // as CreateFrom had begun
				f, err := s.Files.Create(id)
				if err != nil {
					t.Fatal(err)
				}
				f.Close()
				if err := os.WriteFile(filepath.Join(s.Files.Dir(id), "half.txt"), []byte("half"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}})
	got := waitImportEnd(t, second, zipImp.ID)
	if got.Status != store.ImportSucceeded {
		t.Fatalf("zip import after restart: %+v", got)
	}
	area := second.Files.Dir(zipImp.ProjectID)
	if b, err := os.ReadFile(filepath.Join(area, "index.html")); err != nil || string(b) != "<h1>again</h1>" {
		t.Errorf("imported project: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(area, "half.txt")); !os.IsNotExist(err) {
		t.Errorf("the first attempt's file is left: %v", err)
	}
	got = waitImportEnd(t, second, gitImp.ID)
	if got.Status != store.ImportFailed || !strings.Contains(got.Error, "access tokens are not kept") {
		t.Fatalf("git import after restart: %+v", got)
	}
	if _, err := os.Stat(second.Files.Area(gitImp.ProjectID)); !os.IsNotExist(err) {
		t.Errorf("half-made project left: %v", err)
	}
	for _, stage := range []string{stageZip, stageGit} {
		if _, err := os.Stat(stage); !os.IsNotExist(err) {
			t.Errorf("staging left: %v", err)
		}
	}
	if _, err := st.ProjectForMember(ctx, gitImp.ProjectID, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("failed import's project row: %v", err)
	}
}

// writeStage writes an import's staging folder as Start does (request and
// upload) with a half-written files folder.
func writeStage(t *testing.T, stage, request string, upload map[string]string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(stage, "files", "src"), 0o750); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(stage, "files", "src", "partial.js"), []byte("half"), 0o600)
	os.WriteFile(filepath.Join(stage, "request.json"), []byte(request), 0o600)
	if upload == nil {
		return
	}
	f, err := os.Create(filepath.Join(stage, "upload"))
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, body := range upload {
		w, _ := zw.Create(name)
		w.Write([]byte(body))
	}
	zw.Close()
	f.Close()
}

// enqueue records the imports and their jobs as Start does.
func enqueue(t *testing.T, st *store.Store, xs ...store.Import) {
	t.Helper()
	ctx := context.Background()
	if err := jobs.Migrate(ctx, st); err != nil {
		t.Fatal(err)
	}
	q, err := jobs.New(ctx, jobs.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	jobs.Handle(q, func(context.Context, imports.Job, int) error { return nil }) // never run: this queue only enqueues
	for _, x := range xs {
		err := st.InTx(ctx, func(tx *store.Store) error {
			if err := tx.CreateImport(ctx, x); err != nil {
				return err
			}
			_, err := q.EnqueueTx(ctx, tx, imports.Job{ImportID: x.ID}, &jobs.Opts{Unique: true, MaxAttempts: 5})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// runImportChild starts TestImportJobChild on url, waits until n import
// jobs run, and kills it with SIGKILL.
func runImportChild(t *testing.T, url string, n int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestImportJobChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "ECODE_TEST_IMPORT_CHILD="+url)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	running := 0
	for sc := bufio.NewScanner(out); running < n && sc.Scan(); {
		if strings.HasPrefix(sc.Text(), "RUNNING ") {
			running++
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	go io.Copy(io.Discard, out)
	cmd.Wait()
	if running < n {
		t.Fatalf("the child ended after running %d of %d import jobs", running, n)
	}
}

// waitImportEnd waits, on the import's change feed, until it has ended.
func waitImportEnd(t *testing.T, srv *testutil.Server, id string) store.Import {
	t.Helper()
	ch, stop := srv.Imports.Subscribe(id)
	defer stop()
	deadline := time.After(60 * time.Second)
	for {
		x, err := srv.Store.Import(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if x.Status != store.ImportQueued && x.Status != store.ImportRunning {
			return x
		}
		select {
		case <-ch:
		case <-deadline:
			b, _ := json.Marshal(x)
			t.Fatalf("import %s did not end: %s", id, b)
		}
	}
}
