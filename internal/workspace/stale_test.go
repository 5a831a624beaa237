package workspace

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Temporary files left by interrupted writes are removed when the project
// is first opened by a (new) server process; fresh ones are writes in
// progress and stay.
func TestStaleTempFilesRemovedOnOpen(t *testing.T) {
	dir := t.TempDir()
	f, err := New(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.Create("p1")
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	files := f.Dir("p1")
	old := time.Now().Add(-time.Hour)
	for name, age := range map[string]time.Time{
		".ecode-tmp-0011223344556677":        old,
		"src/.ecode-tmp-8899aabbccddeeff":    old,
		"node_modules/.ecode-tmp-0000000000": old, // not searched
		".ecode-tmp-fresh000000000":          time.Now(),
		"keep.txt":                           old,
	} {
		full := filepath.Join(files, name)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(full, age, age)
	}
	f2, _ := New(dir, nil) // a new process
	p2, err := f2.Project("p1")
	if err != nil {
		t.Fatal(err)
	}
	p2.Close()
	for name, want := range map[string]bool{
		".ecode-tmp-0011223344556677": false, "src/.ecode-tmp-8899aabbccddeeff": false,
		"node_modules/.ecode-tmp-0000000000": true, ".ecode-tmp-fresh000000000": true, "keep.txt": true,
	} {
		_, err := os.Stat(filepath.Join(files, name))
		if (err == nil) != want {
			t.Errorf("%s exists=%v, want %v", name, err == nil, want)
		}
	}
}
