package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRotatingLog: the runtime log never holds more than two files of the
// bound, keeps the newest lines, and AppLog searches across both files.
func TestRotatingLog(t *testing.T) {
	dir := t.TempDir()
	s := New(Deps{}, Options{Dir: dir})
	rel := filepath.Join(dir, "p1", "r1")
	if err := os.MkdirAll(rel, 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := openRotatingLog(filepath.Join(rel, "app.log"), 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 500 {
		fmt.Fprintf(l, "line %03d %s\n", i, map[bool]string{true: "ERROR", false: "ok"}[i%50 == 0])
	}
	l.Close()
	var total int64
	for _, n := range []string{"app.log", "app.log.1"} {
		fi, err := os.Stat(filepath.Join(rel, n))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > 1000 {
			t.Fatalf("%s is %d bytes, over the bound", n, fi.Size())
		}
		total += fi.Size()
	}
	if _, err := os.Stat(filepath.Join(rel, "app.log.2")); err == nil {
		t.Fatal("a third file was kept")
	}
	all, err := s.AppLog("p1", LogQuery{ReleaseID: "r1", Tail: MaxLogLines})
	if err != nil {
		t.Fatal(err)
	}
	if got := all.Lines[len(all.Lines)-1]; got != "line 499 ok" {
		t.Fatalf("last line %q", got)
	}
	if int64(len(strings.Join(all.Lines, "\n"))+1) != total {
		t.Fatalf("AppLog returned %d lines, not both files", len(all.Lines))
	}
	errs, _ := s.AppLog("p1", LogQuery{ReleaseID: "r1", Search: "error"})
	for _, line := range errs.Lines {
		if !strings.HasSuffix(line, "ERROR") {
			t.Fatalf("search returned %q", line)
		}
	}
	if len(errs.Lines) == 0 || errs.Lines[len(errs.Lines)-1] != "line 450 ERROR" {
		t.Fatalf("search: %+v", errs)
	}
	tail, _ := s.AppLog("p1", LogQuery{ReleaseID: "r1", Tail: 3})
	if strings.Join(tail.Lines, ",") != "line 497 ok,line 498 ok,line 499 ok" || !tail.Truncated {
		t.Fatalf("tail: %+v", tail)
	}
	if _, err := s.AppLog("p1", LogQuery{ReleaseID: "../p1"}); err != ErrNoRelease {
		t.Fatalf("a path as release id: %v", err)
	}
}
