package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ecode/internal/client"
	"ecode/internal/config"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

type importState struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	ProjectID string `json:"project_id"`
	Error     string `json:"error"`
	Progress  struct {
		Step  string `json:"step"`
		Files int    `json:"files"`
	} `json:"progress"`
	Report struct {
		Files     int `json:"files"`
		Detection struct {
			AppRoot   string `json:"app_root"`
			Framework string `json:"framework"`
			RunConfig struct {
				Run     string `json:"run"`
				Install string `json:"install"`
			} `json:"run_config"`
			Signals []string `json:"signals"`
		} `json:"detection"`
		Secrets []struct {
			Name string `json:"name"`
			From string `json:"from"`
		} `json:"secrets"`
		Carried    []string `json:"carried"`
		NotCarried []string `json:"not_carried"`
	} `json:"report"`
}

// zipOf builds a zip of name → content (a name ending in "@" is a symlink
// to content, one ending in "#" is stored uncompressed).
func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, content := range files {
		h := &zip.FileHeader{Name: strings.TrimSuffix(strings.TrimSuffix(name, "@"), "#"), Method: zip.Deflate}
		if strings.HasSuffix(name, "#") { // stored, not compressed
			h.Method = zip.Store
		}
		if strings.HasSuffix(name, "@") {
			h.SetMode(os.ModeSymlink | 0o777)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(content))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// uploadImport posts a file as a multipart import.
func uploadImport(t *testing.T, c *client.Client, source string, data []byte) (string, error) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("source", source)
	fw, _ := mw.CreateFormFile("file", "project.zip")
	fw.Write(data)
	mw.Close()
	var out struct{ ID, Status string }
	err := c.Do(context.Background(), "POST", "/api/imports", &body, mw.FormDataContentType(), &out)
	return out.ID, err
}

// waitImport waits, on the service's change notifications, for the import's end.
func waitImport(t *testing.T, srv *testutil.Server, c *client.Client, id string) importState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	changed, stop := srv.Imports.Subscribe(id)
	defer stop()
	for {
		var st importState
		if err := c.Do(ctx, "GET", "/api/imports/"+id, nil, "", &st); err != nil {
			t.Fatal(err)
		}
		if st.Status != "queued" && st.Status != "running" {
			return st
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("import never ended; last %+v", st)
		}
	}
}

// nodeApp is a dependency-free Node server printing a variable it is given.
const nodeApp = `const http = require("http");
http.createServer((req, res) => res.end("imported app says " + process.env.GREETING)).listen(process.env.PORT, "127.0.0.1");
`

func TestImportZipRunsAndMovesSecrets(t *testing.T) {
	srv, c := sandboxServer(t)
	ctx := context.Background()
	id, err := uploadImport(t, c, "zip", zipOf(t, map[string]string{
		"myapp-main/package.json":                      `{"name":"x","scripts":{"start":"node server.js"}}`,
		"myapp-main/server.js":                         nodeApp,
		"myapp-main/.env":                              "GREETING=hello-from-secret\n# comment\nexport OTHER='two words'\n",
		"myapp-main/node_modules/x/index.js":           "junk",
		"myapp-main/supabase/functions/hello/index.ts": "Deno.serve(() => new Response('x'))",
	}))
	if err != nil {
		t.Fatal(err)
	}
	st := waitImport(t, srv, c, id)
	if st.Status != "succeeded" || st.ProjectID == "" {
		t.Fatalf("import %+v", st)
	}
	d := st.Report.Detection
	if d.Framework != "node" || d.RunConfig.Run != "npm start" || d.AppRoot != "." {
		t.Errorf("detection %+v", d)
	}
	if len(st.Report.Secrets) != 2 || !strings.Contains(strings.Join(st.Report.NotCarried, "\n"), "edge functions (hello)") {
		t.Errorf("report %+v", st.Report)
	}
	// The secret is in the project's secrets and not in its files.
	var list []struct{ Name string }
	if err := c.Do(ctx, "GET", "/api/projects/"+st.ProjectID+"/secrets", nil, "", &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Errorf("secrets %+v", list)
	}
	if _, err := os.Stat(filepath.Join(srv.Files.Dir(st.ProjectID), ".env")); !os.IsNotExist(err) {
		t.Errorf(".env left in the project: %v", err)
	}
	if _, err := os.Stat(filepath.Join(srv.Files.Dir(st.ProjectID), "node_modules")); !os.IsNotExist(err) {
		t.Errorf("node_modules imported: %v", err)
	}
	if err := c.Do(ctx, "POST", "/api/projects/"+st.ProjectID+"/run", nil, "", nil); err != nil {
		t.Fatal(err)
	}
	rs := waitRun(t, srv, c, st.ProjectID, func(s runState) bool { return s.Listening || s.State == "exited" })
	if rs.State != "running" {
		t.Fatalf("run %+v: %s", rs, runOutputText(t, c, st.ProjectID))
	}
	code, body := previewGet(t, srv, c, st.ProjectID, "/")
	if code != 200 || !strings.Contains(body, "imported app says hello-from-secret") {
		t.Fatalf("preview %d %q", code, body)
	}
}

func TestImportRefusesUnsafeZips(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		srv := testutil.NewServer(t, st, testutil.ServerOptions{Config: func(c *config.Config) { c.ImportMaxBytes = 64 << 20 }})
		c := srv.User(t, "importer")
		bomb := strings.Repeat("0", 16<<20)
		cases := map[string]struct {
			files map[string]string
			want  string
		}{
			"slip":    {map[string]string{"../evil.sh": "x", "a.txt": "a"}, "outside the project"},
			"abs":     {map[string]string{"/etc/evil": "x"}, "absolute path"},
			"symlink": {map[string]string{"link@": "/etc/passwd", "index.html": "x"}, "symbolic link"},
			"bomb":    {map[string]string{"big.txt": bomb}, "zip bomb"},
			"toobig":  {map[string]string{"a.txt#": strings.Repeat("0", 40<<20), "b.txt#": strings.Repeat("1", 40<<20)}, "larger than 64.0 MiB"},
			"noapp":   {map[string]string{"notes/readme.md": "x"}, "no app found"},
		}
		for name, tc := range cases {
			id, err := uploadImport(t, c, "zip", zipOf(t, tc.files))
			if isStatus(err, http.StatusBadRequest) && strings.Contains(err.Error(), tc.want) {
				continue // refused at once (the upload itself is over the limit)
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			got := waitImport(t, srv, c, id)
			if got.Status != "failed" || !strings.Contains(got.Error, tc.want) {
				t.Errorf("%s: %+v, want an error with %q", name, got, tc.want)
			}
		}
		ps, err := c.Projects(context.Background())
		if err != nil || len(ps) != 0 {
			t.Errorf("projects left behind: %v %v", ps, err)
		}
		if ents, _ := os.ReadDir(filepath.Join(srv.Dir, "imports")); len(ents) != 0 {
			t.Errorf("staging left behind: %v", ents)
		}
		if ents, _ := os.ReadDir(filepath.Join(srv.Dir, "projects")); len(ents) != 0 {
			t.Errorf("project folders left behind: %v", ents)
		}
	})
}

func TestImportsAreTheirUsers(t *testing.T) {
	srv := testutil.NewServer(t, testutil.NewStore(t, store.SQLite))
	a, b := srv.User(t, "alice"), srv.User(t, "bob")
	id, err := uploadImport(t, a, "zip", zipOf(t, map[string]string{"index.html": "hi"}))
	if err != nil {
		t.Fatal(err)
	}
	waitImport(t, srv, a, id)
	for _, p := range []string{"/api/imports/" + id, "/api/imports/" + id + "/events"} {
		err := b.Do(context.Background(), "GET", p, nil, "", nil)
		if !isStatus(err, http.StatusNotFound) {
			t.Errorf("%s as another user: %v, want 404", p, err)
		}
	}
	var bad json.RawMessage
	err = a.Do(context.Background(), "POST", "/api/imports", strings.NewReader(`{"source":"svn","url":"x"}`), "application/json", &bad)
	if !isStatus(err, http.StatusBadRequest) {
		t.Errorf("unknown source: %v", err)
	}
}

func isStatus(err error, status int) bool {
	var ce *client.Error
	return errors.As(err, &ce) && ce.Status == status
}
