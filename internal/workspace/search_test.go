package workspace

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeTree(t testing.TB, f *Files, files map[string]string) {
	t.Helper()
	for name, text := range files {
		full := filepath.Join(f.Dir("p1"), name)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSearch(t *testing.T) {
	f, p := newProject(t)
	writeTree(t, f, map[string]string{
		"src/app.js":           "const a = 1\n  findMe(a)\r\nFINDME loudly\n",
		"README.md":            "no match here\n",
		"node_modules/x/y.js":  "findMe in a dependency\n",
		".git/config":          "findMe in git\n",
		".ecode/phase":         "findMe",
		"logo.png":             "\x89PNG\x00\x00findMe",
		"big.txt":              strings.Repeat("findMe\n", 200_000), // over the size limit
		"deep/a/b/c/notes.txt": "ünïcode findMe\n",
		"many.txt":             strings.Repeat("findme\n", 50),
	})
	// Outside the project: a link out must not be followed.
	outside := filepath.Join(t.TempDir(), "secret.txt")
	os.WriteFile(outside, []byte("findMe secret\n"), 0o644)
	os.Symlink(outside, filepath.Join(f.Dir("p1"), "link.txt"))

	lim := SearchLimits{MaxResults: 100, MaxFileBytes: 1 << 20}
	res, err := p.Search(context.Background(), "findMe", lim)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, m := range res.Matches {
		got = append(got, fmt.Sprintf("%s:%d:%d:%s", m.Path, m.Line, m.Column, m.Text))
	}
	want := []string{"deep/a/b/c/notes.txt:1:9:ünïcode findMe", "src/app.js:2:3:  findMe(a)"}
	if strings.Join(got, "|") != strings.Join(want, "|") || res.Truncated {
		t.Errorf("case-sensitive search: %q (truncated %v)", got, res.Truncated)
	}

	// All lower case: case-insensitive; the cap truncates.
	res, err = p.Search(context.Background(), "findme", SearchLimits{MaxResults: 10, MaxFileBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Matches) != 10 || !res.Truncated {
		t.Errorf("capped search: %d matches, truncated %v", len(res.Matches), res.Truncated)
	}
	for _, m := range res.Matches {
		if strings.HasPrefix(m.Path, "node_modules") || strings.HasPrefix(m.Path, ".git") || m.Path == "logo.png" || m.Path == "big.txt" || m.Path == "link.txt" {
			t.Errorf("searched %s", m.Path)
		}
	}
}

// Search on 10,000 files (node_modules skipped) stays well under a second
// here; the time is logged for the report (go test -v -run TestSearchTenThousandFiles).
func TestSearchTenThousandFiles(t *testing.T) {
	f, p := newProject(t)
	files := map[string]string{}
	for i := range 10_000 {
		files[fmt.Sprintf("src/d%03d/f%05d.js", i/100, i)] = fmt.Sprintf("// file %d\nexport const v%d = %d\nfunction helper() { return 'x' }\n", i, i, i)
	}
	files["src/d042/f04242.js"] += "const needle = 'here'\n"
	writeTree(t, f, files)
	start := time.Now()
	res, err := p.Search(context.Background(), "needle", SearchLimits{MaxResults: 500, MaxFileBytes: 1 << 20})
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Matches) != 1 || res.Matches[0].Path != "src/d042/f04242.js" || res.Files != 10_000 {
		t.Fatalf("found %+v in %d files", res.Matches, res.Files)
	}
	t.Logf("searched %d files in %v", res.Files, took)
	if took > 10*time.Second {
		t.Errorf("search of 10k files took %v", took)
	}
}
