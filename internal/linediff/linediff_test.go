package linediff

import (
	"math/rand/v2"
	"testing"
)

// apply replays ops on a with b's inserted elements; it must give b.
func apply(t *testing.T, a, b []int, ops []Op) []int {
	t.Helper()
	var out []int
	i, j := 0, 0
	for _, op := range ops {
		switch op {
		case Equal:
			if a[i] != b[j] {
				t.Fatalf("Equal on different elements %d and %d", a[i], b[j])
			}
			out = append(out, a[i])
			i, j = i+1, j+1
		case Delete:
			i++
		case Insert:
			out = append(out, b[j])
			j++
		}
	}
	if i != len(a) || j != len(b) {
		t.Fatalf("script consumed %d of %d and %d of %d", i, len(a), j, len(b))
	}
	return out
}

func edits(ops []Op) int {
	n := 0
	for _, op := range ops {
		if op != Equal {
			n++
		}
	}
	return n
}

func TestDiffIsAValidShortestScript(t *testing.T) {
	cases := []struct {
		a, b  []int
		edits int
	}{
		{nil, nil, 0},
		{[]int{1, 2, 3}, nil, 3},
		{nil, []int{1}, 1},
		{[]int{1, 2, 3}, []int{1, 2, 3}, 0},
		{[]int{1, 2, 3, 4}, []int{1, 3, 4, 5}, 2},
		{[]int{1, 2, 3, 1, 2, 2, 1}, []int{3, 2, 1, 2, 1, 3}, 5}, // Myers' paper: ABCABBA → CBABAC, D = 5
	}
	for _, c := range cases {
		ops, ok := Diff(c.a, c.b, -1)
		if !ok {
			t.Fatalf("%v → %v: no script", c.a, c.b)
		}
		got := apply(t, c.a, c.b, ops)
		if len(got) != len(c.b) || edits(ops) != c.edits {
			t.Errorf("%v → %v: %s (%d edits, want %d)", c.a, c.b, ops, edits(ops), c.edits)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		a, b := make([]int, r.IntN(30)), make([]int, r.IntN(30))
		for i := range a {
			a[i] = r.IntN(4)
		}
		for i := range b {
			b[i] = r.IntN(4)
		}
		ops, _ := Diff(a, b, -1)
		apply(t, a, b, ops)
		if e := edits(ops); e > len(a)+len(b) {
			t.Fatalf("%d edits for %d+%d elements", e, len(a), len(b))
		}
	}
}

func TestDiffBound(t *testing.T) {
	a, b := []int{1, 2, 3, 4}, []int{5, 6, 7, 8}
	if _, ok := Diff(a, b, 3); ok {
		t.Fatal("a script of 8 edits found under a bound of 3")
	}
	if ops, ok := Diff(a, b, 8); !ok || edits(ops) != 8 {
		t.Fatalf("bound 8: %s %v", ops, ok)
	}
}
