// Package linediff computes shortest edit scripts between two sequences
// (lines of text, usually) with Myers' O(ND) algorithm. Checkpoint diffs
// and the collaboration layer's text edits both use it.
package linediff

import "slices"

// Op is one step of an edit script.
type Op byte

// The steps: keep an element of a, delete one of a, insert one of b.
const (
	Equal  Op = '='
	Delete Op = '-'
	Insert Op = '+'
)

// Diff returns a shortest edit script turning a into b: walking it, Equal
// and Delete consume an element of a, Equal and Insert one of b. When the
// edit distance exceeds maxD (maxD < 0: no bound) it returns ok false and
// no script; the caller treats the sequences as replaced whole.
func Diff[T comparable](a, b []T, maxD int) (ops []Op, ok bool) {
	n, m := len(a), len(b)
	if n == 0 || m == 0 {
		return Replace(n, m), true
	}
	limit := n + m
	if maxD >= 0 && maxD < limit {
		limit = maxD
	}
	off := n + m + 1
	v := make([]int, 2*(n+m)+3)
	var trace [][]int // trace[d] is v before step d, indexes off-d-1 .. off+d+1
	for d := 0; d <= limit; d++ {
		trace = append(trace, slices.Clone(v[off-d-1:off+d+2]))
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = v[off+k+1]
			} else {
				x = v[off+k-1] + 1
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x++
				y++
			}
			v[off+k] = x
			if x >= n && y >= m {
				return backtrack(trace, d, n, m), true
			}
		}
	}
	return nil, false
}

// Replace is the script that deletes n elements and inserts m.
func Replace(n, m int) []Op {
	ops := make([]Op, 0, n+m)
	for range n {
		ops = append(ops, Delete)
	}
	for range m {
		ops = append(ops, Insert)
	}
	return ops
}

func backtrack(trace [][]int, d, x, y int) []Op {
	var ops []Op
	for ; d > 0; d-- {
		vp := trace[d]
		get := func(k int) int { return vp[k+d+1] }
		k := x - y
		pk := k - 1
		if k == -d || (k != d && get(k-1) < get(k+1)) {
			pk = k + 1
		}
		px := get(pk)
		py := px - pk
		for x > px && y > py {
			ops = append(ops, Equal)
			x--
			y--
		}
		if x == px {
			ops = append(ops, Insert)
			y--
		} else {
			ops = append(ops, Delete)
			x--
		}
	}
	for x > 0 && y > 0 {
		ops = append(ops, Equal)
		x--
		y--
	}
	slices.Reverse(ops)
	return ops
}
