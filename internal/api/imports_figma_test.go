package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"ecode/internal/client"
	"ecode/internal/config"
	"ecode/internal/figma"
	"ecode/internal/figma/figmatest"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

const figmaKey = "FigmaKey0123456789"

func figmaServer(t *testing.T) (*figmatest.Server, *testutil.Server, *client.Client, *testutil.LogBuffer) {
	fake := figmatest.NewServer(t, "figd_the-token", map[string]*figma.File{figmaKey: figmatest.Document()})
	u, _ := url.Parse(fake.URL)
	logs := &testutil.LogBuffer{}
	srv := testutil.NewServer(t, testutil.NewStore(t, store.SQLite), testutil.ServerOptions{Logs: logs, Config: func(c *config.Config) {
		c.FigmaAPIURL, c.ImportAllowHosts = fake.URL, u.Hostname() // the renders are on the fake server too
	}})
	return fake, srv, srv.User(t, "designer"), logs
}

func startFigma(t *testing.T, c *client.Client, fileURL, token string) string {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"source": "figma", "url": fileURL, "token": token})
	var created struct{ ID string }
	if err := c.Do(context.Background(), "POST", "/api/imports", bytes.NewReader(b), "application/json", &created); err != nil {
		t.Fatal(err)
	}
	return created.ID
}

func TestImportFigmaByURL(t *testing.T) {
	fake, srv, c, logs := figmaServer(t)
	ctx := context.Background()
	id := startFigma(t, c, "https://www.figma.com/design/"+figmaKey+"/Test-design?node-id=1-2", "figd_the-token")
	got := waitImport(t, srv, c, id)
	if got.Status != "succeeded" {
		t.Fatalf("import %+v", got)
	}
	if c := strings.Join(got.Report.Carried, "\n"); !strings.Contains(c, "2 frames as React components") || !strings.Contains(c, "2 images and vectors rendered") {
		t.Errorf("carried %q", got.Report.Carried)
	}
	if d := got.Report.Detection; d.Framework != "vite" || !strings.Contains(d.RunConfig.Run, "vite") {
		t.Errorf("detection %+v", d)
	}
	for _, f := range []string{"package.json", "src/App.tsx", "src/frames/Landing.tsx", "src/components/Button.tsx", "src/figma.css", "figma-static.html"} {
		if _, err := c.ReadFile(ctx, got.ProjectID, f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if b, err := c.ReadFile(ctx, got.ProjectID, "src/assets/logo-1-4.png"); err != nil || !bytes.Equal(b, figmatest.PNG()) {
		t.Errorf("the logo's render: %v", err)
	}
	if b, err := c.ReadFile(ctx, got.ProjectID, ".ecode.toml"); err != nil || !strings.Contains(string(b), "vite") {
		t.Errorf(".ecode.toml %q %v", b, err)
	}
	if paths := strings.Join(fake.Paths(), " "); !strings.Contains(paths, "/v1/files/"+figmaKey) || !strings.Contains(paths, "/v1/images/"+figmaKey) {
		t.Errorf("requests %s", paths)
	}
	// The token went to Figma and nowhere else: not the record, not the log.
	raw, _ := c.Raw(ctx, "GET", "/api/imports/"+id, nil, "")
	var rec bytes.Buffer
	rec.ReadFrom(raw.Body)
	raw.Body.Close()
	if strings.Contains(rec.String(), "figd_the") || strings.Contains(logs.String(), "figd_the") {
		t.Error("the Figma token was stored or logged")
	}
}

func TestImportFigmaRefusals(t *testing.T) {
	fake, srv, c, _ := figmaServer(t)
	for _, tc := range []struct{ name, url, token, want string }{
		{"wrong token", "https://www.figma.com/file/" + figmaKey + "/x", "wrong", "Figma refused the access token (HTTP 403)"},
		{"no such file", "https://www.figma.com/file/NoSuchFile0123456/x", "figd_the-token", "Figma has no file with the key NoSuchFile0123456"},
		{"no file key", "https://www.figma.com/files/recent", "figd_the-token", "the URL has no Figma file key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := waitImport(t, srv, c, startFigma(t, c, tc.url, tc.token))
			if got.Status != "failed" || !strings.Contains(got.Error, tc.want) {
				t.Errorf("%+v", got)
			}
		})
	}
	// A rate limit far away fails at once and says when to try.
	fake.Throttle(1, "100000")
	got := waitImport(t, srv, c, startFigma(t, c, "https://www.figma.com/file/"+figmaKey+"/x", "figd_the-token"))
	if got.Status != "failed" || !strings.Contains(got.Error, "rate limit allows the next request only in 27h46m40s") {
		t.Errorf("long rate limit: %+v", got)
	}
	ps, err := c.Projects(context.Background())
	if err != nil || len(ps) != 0 {
		t.Errorf("failed imports left %d projects (%v)", len(ps), err)
	}
}

func TestImportFigmaWaitsOnARateLimit(t *testing.T) {
	fake, srv, c, _ := figmaServer(t)
	fake.Throttle(1, "1")
	id := startFigma(t, c, "https://www.figma.com/file/"+figmaKey+"/x", "figd_the-token")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	changed, stop := srv.Imports.Subscribe(id)
	defer stop()
	sawWait := false
	for {
		var st struct {
			Status   string
			Progress struct {
				Message      string     `json:"message"`
				WaitingUntil *time.Time `json:"waiting_until"`
			}
		}
		if err := c.Do(ctx, "GET", "/api/imports/"+id, nil, "", &st); err != nil {
			t.Fatal(err)
		}
		if st.Progress.WaitingUntil != nil && st.Progress.Message == "waiting on a rate limit" {
			sawWait = true
		}
		if st.Status == "succeeded" || st.Status == "failed" {
			if st.Status != "succeeded" || !sawWait {
				t.Fatalf("status %s, saw the wait: %v", st.Status, sawWait)
			}
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatal("the import never ended")
		}
	}
}

func TestImportFigmaJSONUpload(t *testing.T) {
	_, srv, c, _ := figmaServer(t)
	doc, _ := json.Marshal(figmatest.Document())
	id, err := uploadImport(t, c, "figma", doc)
	if err != nil {
		t.Fatal(err)
	}
	got := waitImport(t, srv, c, id)
	if got.Status != "succeeded" || !strings.Contains(strings.Join(got.Report.NotCarried, "\n"), "placeholders") {
		t.Fatalf("%+v", got)
	}
	if b, err := c.ReadFile(context.Background(), got.ProjectID, "src/frames/Landing.tsx"); err != nil || !strings.Contains(string(b), `label={"Buy now"}`) {
		t.Errorf("Landing.tsx %q %v", b, err)
	}
	// Not a Figma file: the reason.
	id, _ = uploadImport(t, c, "figma", []byte(`{"hello":"world"}`))
	if got := waitImport(t, srv, c, id); got.Status != "failed" || !strings.Contains(got.Error, "not a Figma file's JSON") {
		t.Errorf("not figma: %+v", got)
	}
}

// TestImportFigmaRunsInTheSandbox runs the generated project as imported:
// npm install, then Vite, and the preview serves the page and the frame's
// module. npm reaches the public registry through the egress proxy, or the
// mirror in ECODE_TEST_NPM_REGISTRY (--npm-registry).
func TestImportFigmaRunsInTheSandbox(t *testing.T) {
	srv := testutil.NewServer(t, testutil.NewStore(t, store.SQLite), testutil.ServerOptions{Config: func(c *config.Config) {
		c.Egress = "proxy"
		c.NPMRegistry = os.Getenv("ECODE_TEST_NPM_REGISTRY")
	}})
	testutil.RequireSandbox(t, testutil.NewSandbox(t))
	c := srv.User(t, "runner")
	ctx := context.Background()
	doc, _ := json.Marshal(figmatest.Document())
	id, err := uploadImport(t, c, "figma", doc)
	if err != nil {
		t.Fatal(err)
	}
	st := waitImport(t, srv, c, id)
	if st.Status != "succeeded" {
		t.Fatalf("import %+v", st)
	}
	if err := c.Do(ctx, "POST", "/api/projects/"+st.ProjectID+"/run", nil, "", nil); err != nil {
		t.Fatal(err)
	}
	rs := waitRun(t, srv, c, st.ProjectID, func(s runState) bool { return s.Listening || s.State == "exited" })
	if rs.State != "running" {
		t.Fatalf("run %+v: %s", rs, runOutputText(t, c, st.ProjectID))
	}
	if code, body := previewGet(t, srv, c, st.ProjectID, "/"); code != 200 || !strings.Contains(body, `<div id="root"></div>`) || !strings.Contains(body, "<title>Test design</title>") {
		t.Fatalf("preview / %d %q", code, body)
	}
	if code, body := previewGet(t, srv, c, st.ProjectID, "/src/frames/Landing.tsx"); code != 200 || !strings.Contains(body, "Hello, Figma") || !strings.Contains(body, "Buy now") {
		t.Fatalf("preview of the frame's module %d %.300q", code, body)
	}
}

// TestImportFigmaRefusesRendersOnLoopback: render URLs point outside the
// API, so they are fetched only from public addresses or allowed hosts;
// here the fake API's own host is not allowed and the renders are left as
// placeholders, said in the report.
func TestImportFigmaRefusesRendersOnLoopback(t *testing.T) {
	fake := figmatest.NewServer(t, "tok", map[string]*figma.File{figmaKey: figmatest.Document()})
	srv := testutil.NewServer(t, testutil.NewStore(t, store.SQLite), testutil.ServerOptions{Config: func(c *config.Config) {
		c.FigmaAPIURL = fake.URL
	}})
	c := srv.User(t, "designer")
	got := waitImport(t, srv, c, startFigma(t, c, "https://www.figma.com/file/"+figmaKey+"/x", "tok"))
	notes := strings.Join(got.Report.NotCarried, "\n")
	if got.Status != "succeeded" || !strings.Contains(notes, "1 png renders could not be fetched") || !strings.Contains(notes, "1 svg renders could not be fetched") {
		t.Fatalf("%+v", got)
	}
	for _, p := range fake.Paths() {
		if strings.HasPrefix(p, "/renders/") {
			t.Errorf("a render was fetched from loopback: %s", p)
		}
	}
}
