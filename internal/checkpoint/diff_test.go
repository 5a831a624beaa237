package checkpoint

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// apply rebuilds b from a and an edit script.
func apply(a, b []string, ops []byte) ([]string, error) {
	var out []string
	i, j := 0, 0
	for _, op := range ops {
		switch op {
		case '=':
			if a[i] != b[j] {
				return nil, fmt.Errorf("kept line %d differs", i)
			}
			out = append(out, a[i])
			i++
			j++
		case '-':
			i++
		case '+':
			out = append(out, b[j])
			j++
		}
	}
	if i != len(a) || j != len(b) {
		return nil, fmt.Errorf("script covers %d/%d and %d/%d lines", i, len(a), j, len(b))
	}
	return out, nil
}

func randomText(r *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		fmt.Fprintf(&b, "line %d\n", r.IntN(8))
	}
	if r.IntN(3) == 0 {
		b.WriteString("no newline")
	}
	return b.String()
}

// TestDiffLinesAgainstGit: the script is valid and minimal (as many changed
// lines as git's Myers diff finds) and the patch applies with git apply.
func TestDiffLinesAgainstGit(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git not installed")
	}
	r := rand.New(rand.NewPCG(1, 2))
	dir := t.TempDir()
	for i := range 40 {
		ta, tb := randomText(r, r.IntN(30)), randomText(r, r.IntN(30))
		a, b := splitLines([]byte(ta)), splitLines([]byte(tb))
		ops := diffLines(a, b)
		if got, err := apply(a, b, ops); err != nil || strings.Join(got, "") != strings.Join(b, "") {
			t.Fatalf("case %d: script does not rebuild b: %v", i, err)
		}
		add, del := strings.Count(string(ops), "+"), strings.Count(string(ops), "-")
		os.WriteFile(filepath.Join(dir, "a"), []byte(ta), 0o644)
		os.WriteFile(filepath.Join(dir, "b"), []byte(tb), 0o644)
		out, _ := exec.Command(git, "diff", "--no-index", "--numstat", "--diff-algorithm=myers", filepath.Join(dir, "a"), filepath.Join(dir, "b")).Output()
		var ga, gd int
		fmt.Sscanf(string(out), "%d %d", &ga, &gd)
		if ga+gd != add+del {
			t.Errorf("case %d: %d+%d changed lines, git finds %d+%d", i, add, del, ga, gd)
		}
		if ta == tb {
			continue
		}
		patch := unified("a/f", "b/f", a, b, ops, 3)
		os.WriteFile(filepath.Join(dir, "f"), []byte(ta), 0o644)
		os.WriteFile(filepath.Join(dir, "p"), []byte(patch), 0o644)
		cmd := exec.Command(git, "apply", "--unidiff-zero", "p")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("case %d: git apply: %v %s\n%s", i, err, out, patch)
		}
		if got, _ := os.ReadFile(filepath.Join(dir, "f")); string(got) != tb {
			t.Fatalf("case %d: patched file differs\n%s", i, patch)
		}
	}
}

func TestUnifiedFormat(t *testing.T) {
	a := splitLines([]byte("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n"))
	b := splitLines([]byte("1\n2\nthree\n4\n5\n6\n7\n8\n9\n10\n11\n12"))
	got := unified("a/x", "b/x", a, b, diffLines(a, b), 3)
	want := `--- a/x
+++ b/x
@@ -1,6 +1,6 @@
 1
 2
-3
+three
 4
 5
 6
@@ -9,4 +9,4 @@
 9
 10
 11
-12
+12
\ No newline at end of file
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if p := unified("/dev/null", "b/n", nil, splitLines([]byte("x\n")), diffLines(nil, splitLines([]byte("x\n"))), 3); p != "--- /dev/null\n+++ b/n\n@@ -0,0 +1 @@\n+x\n" {
		t.Errorf("new file patch:\n%s", p)
	}
}
