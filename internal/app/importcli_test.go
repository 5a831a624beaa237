package app_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ecode/internal/app"
	"ecode/internal/config"
	"ecode/internal/figma"
	"ecode/internal/figma/figmatest"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

func TestImportCommand(t *testing.T) {
	const key = "CliFigmaKey0123456"
	fake := figmatest.NewServer(t, "figd_cli", map[string]*figma.File{key: figmatest.Document()})
	u, _ := url.Parse(fake.URL)
	srv := testutil.NewServer(t, testutil.NewStore(t, store.SQLite), testutil.ServerOptions{Config: func(c *config.Config) {
		c.FigmaAPIURL, c.ImportAllowHosts = fake.URL, u.Hostname()
	}})
	ctx := context.Background()
	tok, err := srv.User(t, "cli").CreateToken(ctx, "cli")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ECODE_SERVER": srv.URL, "ECODE_TOKEN": tok.Token, "FIGMA_TOKEN": "figd_cli"}
	getenv := func(k string) string { return env[k] }
	runCLI := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := app.Main(ctx, append([]string{"import"}, args...), getenv, &out, &out)
		return out.String(), err
	}

	dir := t.TempDir()
	doc, _ := json.Marshal(figmatest.Document())
	jsonPath := filepath.Join(dir, "design.json")
	os.WriteFile(jsonPath, doc, 0o600)
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	w, _ := zw.Create("site/index.html")
	w.Write([]byte("<h1>hi</h1>"))
	zw.Close()
	zipPath := filepath.Join(dir, "site.zip")
	os.WriteFile(zipPath, zb.Bytes(), 0o600)

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"https://www.figma.com/design/" + key + "/Test", "-name", "From Figma"}, "succeeded"},
		{[]string{jsonPath}, "not carried: 2 images and vectors were not fetched"},
		{[]string{zipPath, "-name", "Zipped"}, "succeeded"},
	} {
		out, err := runCLI(c.args...)
		if err != nil || !strings.Contains(out, c.want) || !strings.Contains(out, "project ") {
			t.Errorf("ecode import %v: %v\n%s", c.args, err, out)
		}
	}
	ps, err := srv.User(t, "other").Projects(ctx)
	if err != nil || len(ps) != 0 {
		t.Errorf("another user sees %d projects", len(ps))
	}
	// Failures say why and exit non-zero.
	env["FIGMA_TOKEN"] = "wrong"
	if out, err := runCLI("https://www.figma.com/design/" + key + "/Test"); err == nil || !strings.Contains(err.Error(), "Figma refused the access token") {
		t.Errorf("wrong token: %v\n%s", err, out)
	}
	delete(env, "FIGMA_TOKEN")
	if _, err := runCLI("https://www.figma.com/design/" + key + "/Test"); err == nil || !strings.Contains(err.Error(), "needs --figma-token") {
		t.Errorf("no token: %v", err)
	}
	if _, err := runCLI(filepath.Join(dir, "missing.zip")); err == nil || !strings.Contains(err.Error(), "neither a file nor") {
		t.Errorf("missing file: %v", err)
	}
}
