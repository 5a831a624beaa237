package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"ecode/internal/store"
	"ecode/internal/testutil"
	"ecode/internal/workspace"
)

func paths(e workspace.Entry) []string {
	var out []string
	for _, c := range e.Children {
		out = append(out, c.Path)
		out = append(out, paths(*c)...)
	}
	return out
}

func TestProjectsFromTemplates(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		srv := testutil.NewServer(t, st)
		c := srv.User(t, "ada")
		want := map[string]string{"static": "index.html", "node": "index.js", "python": "main.py", "go": "main.go", "blank": "README.md"}
		for tmpl, file := range want {
			p, err := c.CreateProject(ctx, "My "+tmpl, tmpl)
			if err != nil {
				t.Fatalf("create %s: %v", tmpl, err)
			}
			tree, err := c.Tree(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(paths(tree), file) {
				t.Errorf("template %s: tree %v lacks %s", tmpl, paths(tree), file)
			}
		}
		if p, _ := c.CreateProject(ctx, "g", "go"); p.ID != "" {
			b, err := c.ReadFile(ctx, p.ID, "go.mod")
			if err != nil || !strings.Contains(string(b), "module hello") {
				t.Errorf("go template go.mod = %q, %v", b, err)
			}
		}
		_, err := c.CreateProject(ctx, "x", "cobol")
		if e := wantStatus(t, err, http.StatusBadRequest); e.Fields["template"] == "" {
			t.Errorf("unknown template: %+v", e)
		}
		ps, err := c.Projects(ctx)
		if err != nil || len(ps) != 6 {
			t.Fatalf("Projects = %d, %v", len(ps), err)
		}
	})
}

func TestProjectRenameDelete(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		srv := testutil.NewServer(t, st)
		c := srv.User(t, "ada")
		p, _ := c.CreateProject(ctx, "Old", "static")
		var got struct{ Name string }
		if err := c.Do(ctx, "PATCH", "/api/projects/"+p.ID, strings.NewReader(`{"name":"  New  "}`), "application/json", &got); err != nil {
			t.Fatal(err)
		}
		if got.Name != "New" {
			t.Errorf("renamed to %q", got.Name)
		}
		err := c.Do(ctx, "PATCH", "/api/projects/"+p.ID, strings.NewReader(`{"name":""}`), "application/json", nil)
		wantStatus(t, err, http.StatusBadRequest)
		if err := c.Do(ctx, "DELETE", "/api/projects/"+p.ID, nil, "", nil); err != nil {
			t.Fatal(err)
		}
		_, err = c.Project(ctx, p.ID)
		wantStatus(t, err, http.StatusNotFound)
		if _, err := c.Tree(ctx, p.ID); err == nil {
			t.Error("files of a deleted project still served")
		}
	})
}

func TestMembersAndRoles(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		srv := testutil.NewServer(t, st)
		owner, ed, vw := srv.User(t, "owner"), srv.User(t, "ed"), srv.User(t, "vi")
		p, _ := owner.CreateProject(ctx, "Team", "static")

		_, err := ed.Project(ctx, p.ID)
		wantStatus(t, err, http.StatusNotFound)
		if _, err := owner.AddMember(ctx, p.ID, "ed@example.test", "editor"); err != nil {
			t.Fatal(err)
		}
		if _, err := owner.AddMember(ctx, p.ID, "vi@example.test", "viewer"); err != nil {
			t.Fatal(err)
		}
		_, err = owner.AddMember(ctx, p.ID, "ghost@example.test", "viewer")
		if e := wantStatus(t, err, http.StatusBadRequest); e.Fields["email"] == "" {
			t.Errorf("unknown email: %+v", e)
		}
		_, err = owner.AddMember(ctx, p.ID, "ed@example.test", "viewer")
		wantStatus(t, err, http.StatusConflict)
		_, err = owner.AddMember(ctx, p.ID, "x@example.test", "owner")
		wantStatus(t, err, http.StatusBadRequest)

		// The editor writes; the viewer reads but cannot write.
		if err := ed.WriteFile(ctx, p.ID, "notes.txt", []byte("from ed")); err != nil {
			t.Fatal(err)
		}
		b, err := vw.ReadFile(ctx, p.ID, "notes.txt")
		if err != nil || string(b) != "from ed" {
			t.Fatalf("viewer read = %q, %v", b, err)
		}
		wantStatus(t, vw.WriteFile(ctx, p.ID, "notes.txt", []byte("viewer")), http.StatusForbidden)
		_, err = ed.AddMember(ctx, p.ID, "owner@example.test", "viewer")
		wantStatus(t, err, http.StatusForbidden)

		// The viewer leaves; the editor cannot remove the owner.
		me, _ := vw.Me(ctx)
		if err := vw.Do(ctx, "DELETE", "/api/projects/"+p.ID+"/members/"+me.ID, nil, "", nil); err != nil {
			t.Fatal(err)
		}
		_, err = vw.Project(ctx, p.ID)
		wantStatus(t, err, http.StatusNotFound)
		om, _ := owner.Me(ctx)
		err = ed.Do(ctx, "DELETE", "/api/projects/"+p.ID+"/members/"+om.ID, nil, "", nil)
		wantStatus(t, err, http.StatusForbidden)
		err = owner.Do(ctx, "DELETE", "/api/projects/"+p.ID+"/members/"+om.ID, nil, "", nil)
		wantStatus(t, err, http.StatusNotFound)
	})
}

func TestFiles(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		srv := testutil.NewServer(t, st)
		c := srv.User(t, "ada")
		p, _ := c.CreateProject(ctx, "F", "blank")
		id := p.ID

		if err := c.WriteFile(ctx, id, "src/app/main.js", []byte("console.log(1)\n")); err != nil {
			t.Fatal(err)
		}
		if err := c.WriteFile(ctx, id, "src/app/main.js", []byte("console.log(2)\n")); err != nil {
			t.Fatal(err)
		}
		b, _ := c.ReadFile(ctx, id, "src/app/main.js")
		if string(b) != "console.log(2)\n" {
			t.Errorf("read back %q", b)
		}
		if err := c.Mkdir(ctx, id, "docs/empty"); err != nil {
			t.Fatal(err)
		}
		if err := c.Move(ctx, id, "src/app", "lib"); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, c.Move(ctx, id, "lib/main.js", "README.md"), http.StatusConflict)
		wantStatus(t, c.Move(ctx, id, "lib", "lib/inner"), http.StatusBadRequest)
		wantStatus(t, c.Move(ctx, id, "missing", "x"), http.StatusNotFound)
		if err := c.Upload(ctx, id, "assets", map[string][]byte{"img/a.txt": []byte("A"), "b.txt": []byte("BB")}); err != nil {
			t.Fatal(err)
		}
		tree, _ := c.Tree(ctx, id)
		want := []string{"assets", "assets/img", "assets/img/a.txt", "assets/b.txt", "docs", "docs/empty", "lib", "lib/main.js", "src", "README.md"}
		if got := paths(tree); !slices.Equal(got, want) {
			t.Errorf("tree = %v\nwant   %v", got, want)
		}
		if err := c.DeleteFile(ctx, id, "assets"); err != nil {
			t.Fatal(err)
		}
		_, err := c.ReadFile(ctx, id, "assets/b.txt")
		wantStatus(t, err, http.StatusNotFound)
		_, err = c.ReadFile(ctx, id, "lib")
		wantStatus(t, err, http.StatusBadRequest)

		resp, err := c.Raw(ctx, "GET", "/api/projects/"+id+"/zip", nil, "")
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, f := range zr.File {
			names = append(names, f.Name)
		}
		if !slices.Contains(names, "lib/main.js") || !slices.Contains(names, "docs/empty/") {
			t.Errorf("zip entries = %v", names)
		}
	})
}

func TestFileLimitsAndBadPaths(t *testing.T) {
	ctx := context.Background()
	srv := testutil.NewServer(t, testutil.NewStore(t, store.SQLite))
	c := srv.User(t, "ada")
	p, _ := c.CreateProject(ctx, "F", "blank")
	id := p.ID
	if err := c.WriteFile(ctx, id, "keep.txt", []byte("original")); err != nil {
		t.Fatal(err)
	}
	// Oversize: refused, and the old content survives.
	wantStatus(t, c.WriteFile(ctx, id, "keep.txt", bytes.Repeat([]byte("x"), 1<<20+1)), http.StatusRequestEntityTooLarge)
	if b, _ := c.ReadFile(ctx, id, "keep.txt"); string(b) != "original" {
		t.Errorf("after a refused write the file is %q", b)
	}
	// Exactly the limit is fine.
	if err := c.WriteFile(ctx, id, "big.bin", bytes.Repeat([]byte("x"), 1<<20)); err != nil {
		t.Errorf("write at the limit: %v", err)
	}
	// An upload with one bad path writes nothing.
	wantStatus(t, c.Upload(ctx, id, "", map[string][]byte{"ok.txt": []byte("1"), "../evil.txt": []byte("2")}), http.StatusBadRequest)
	if _, err := c.ReadFile(ctx, id, "ok.txt"); err == nil {
		t.Error("a failed upload left ok.txt behind")
	}
	for _, bad := range []string{"..%2f..%2fetc%2fpasswd", "a/..%2f..%2fx", "%2fetc%2fpasswd", "a%00b"} {
		resp, err := c.HTTP.Get(srv.URL + "/api/projects/" + id + "/files/" + bad)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d", bad, resp.StatusCode)
		}
	}
	e := wantStatus(t, c.Mkdir(ctx, id, "../outside"), http.StatusBadRequest)
	if e.Fields["path"] == "" {
		t.Errorf("mkdir ../: %+v", e)
	}
	// Bad JSON bodies.
	for _, body := range []string{`{`, `[]`, `{"path": 5}`, `{"path":"a","extra":1}`, `{"path":"a"}{"path":"b"}`, ``} {
		err := c.Do(ctx, "POST", "/api/projects/"+id+"/mkdir", strings.NewReader(body), "application/json", nil)
		wantStatus(t, err, http.StatusBadRequest)
	}
	big := `{"name":"` + strings.Repeat("a", 2<<20) + `"}`
	err := c.Do(ctx, "POST", "/api/projects", strings.NewReader(big), "application/json", nil)
	wantStatus(t, err, http.StatusRequestEntityTooLarge)
}

func TestUserFilesCannotRunOnTheIDEOrigin(t *testing.T) {
	ctx := context.Background()
	srv := testutil.NewServer(t, testutil.NewStore(t, store.SQLite))
	c := srv.User(t, "ada")
	p, _ := c.CreateProject(ctx, "F", "static")
	resp, err := c.Raw(ctx, "GET", "/api/projects/"+p.ID+"/files/index.html", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox") {
		t.Errorf("user HTML served without a sandbox CSP: %q", csp)
	}
}
