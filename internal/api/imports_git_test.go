package api_test

import (
	"context"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"ecode/internal/config"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// gitServer serves a repository the test builds (a Next.js app in a
// monorepo subfolder, on branch "feature") over HTTP with git http-backend.
func gitServer(t *testing.T) *httptest.Server {
	t.Helper()
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Fatal("git is needed to serve a repository: install git") // a failure, in CI and out
	}
	root := t.TempDir()
	work := filepath.Join(root, "work")
	git := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@e", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@e")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	files := map[string]string{
		"package.json":          `{"name":"mono","private":true,"workspaces":["apps/*"]}`,
		"apps/web/package.json": `{"name":"web","dependencies":{"next":"15.0.0","react":"19.0.0"}}`,
		"apps/web/app/page.tsx": `export default function Page() { return <h1>hello</h1> }`,
		"apps/web/.env.local":   "NEXT_PUBLIC_SUPABASE_URL=https://abc.supabase.co\n",
		"apps/web/.env.example": "NEXT_PUBLIC_SUPABASE_URL=\n",
		"docs/big.bin":          "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n",
		".gitmodules":           "[submodule \"x\"]\n\tpath = x\n\turl = https://example.org/x.git\n",
	}
	for name, content := range files {
		p := filepath.Join(work, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(content), 0o644)
	}
	git(work, "init", "-q", "-b", "main")
	git(work, "add", "-A")
	git(work, "commit", "-qm", "one")
	git(work, "checkout", "-qb", "feature")
	os.WriteFile(filepath.Join(work, "apps/web/FEATURE"), []byte("on the branch"), 0o644)
	git(work, "add", "-A")
	git(work, "commit", "-qm", "two")
	git(root, "clone", "-q", "--bare", work, filepath.Join(root, "repo.git"))
	h := &cgi.Handler{Path: gitPath, Args: []string{"http-backend"},
		Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"}}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func TestImportGitRepository(t *testing.T) {
	repo := gitServer(t)
	host := strings.Split(strings.TrimPrefix(repo.URL, "http://"), ":")[0]
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		srv := testutil.NewServer(t, st, testutil.ServerOptions{Config: func(c *config.Config) { c.ImportAllowHosts = host }})
		c := srv.User(t, "gitter")
		ctx := context.Background()
		body := `{"source":"git","url":"` + repo.URL + `/repo.git","ref":"feature","token":"t0ken"}`
		var created struct{ ID, Status string }
		if err := c.Do(ctx, "POST", "/api/imports", strings.NewReader(body), "application/json", &created); err != nil {
			t.Fatal(err)
		}
		got := waitImport(t, srv, c, created.ID)
		if got.Status != "succeeded" {
			t.Fatalf("import %+v", got)
		}
		d := got.Report.Detection
		if d.AppRoot != "apps/web" || d.Framework != "nextjs" || !strings.Contains(d.RunConfig.Run, "cd apps/web && npx next dev -H 127.0.0.1 -p $PORT") ||
			d.RunConfig.Install != "npm install" {
			t.Errorf("detection %+v", d)
		}
		notCarried := strings.Join(got.Report.NotCarried, "\n")
		if !strings.Contains(notCarried, "submodules") || !strings.Contains(notCarried, "LFS objects (docs/big.bin)") {
			t.Errorf("not carried: %s", notCarried)
		}
		if len(got.Report.Secrets) != 1 || got.Report.Secrets[0].Name != "NEXT_PUBLIC_SUPABASE_URL" {
			t.Errorf("secrets %+v", got.Report.Secrets)
		}
		if b, err := c.ReadFile(ctx, got.ProjectID, "apps/web/FEATURE"); err != nil || string(b) != "on the branch" {
			t.Errorf("branch file: %q %v", b, err)
		}
		if _, err := c.ReadFile(ctx, got.ProjectID, "apps/web/.env.local"); !isStatus(err, http.StatusNotFound) {
			t.Errorf(".env.local kept: %v", err)
		}
		if b, err := c.ReadFile(ctx, got.ProjectID, ".ecode.toml"); err != nil || !strings.Contains(string(b), "next dev") {
			t.Errorf(".ecode.toml: %q %v", b, err)
		}
		// A missing branch says so.
		body = `{"source":"git","url":"` + repo.URL + `/repo.git","ref":"nope"}`
		if err := c.Do(ctx, "POST", "/api/imports", strings.NewReader(body), "application/json", &created); err != nil {
			t.Fatal(err)
		}
		if got := waitImport(t, srv, c, created.ID); got.Status != "failed" || !strings.Contains(got.Error, `"nope" does not exist`) {
			t.Errorf("missing branch: %+v", got)
		}
	})
}

func TestImportGitRefusesLoopbackWithoutAllowRule(t *testing.T) {
	repo := gitServer(t)
	srv := testutil.NewServer(t, testutil.NewStore(t, store.SQLite))
	c := srv.User(t, "gitter")
	u, _ := url.Parse(repo.URL)
	for _, raw := range []string{repo.URL + "/repo.git", "http://localhost:" + u.Port() + "/repo.git", "file:///etc/passwd"} {
		var created struct{ ID string }
		err := c.Do(context.Background(), "POST", "/api/imports", strings.NewReader(`{"source":"git","url":"`+raw+`"}`), "application/json", &created)
		if err != nil {
			t.Fatal(err)
		}
		got := waitImport(t, srv, c, created.ID)
		if got.Status != "failed" || !(strings.Contains(got.Error, "loopback, private or link-local") || strings.Contains(got.Error, "only http and https")) {
			t.Errorf("%s: %+v", raw, got)
		}
	}
}
