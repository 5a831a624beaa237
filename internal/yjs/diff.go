package yjs

// Edit is one text change: delete Delete UTF-16 units at Pos (an offset in
// the old text) and insert Insert there.
type Edit struct {
	Pos    int
	Delete int
	Insert string
}

// maxDiffLines bounds the line-level edit distance Diff searches; beyond
// it the changed middle is replaced as one block.
const maxDiffLines = 1000

// Diff returns edits that turn old into new: ascending, non-overlapping,
// positions in UTF-16 units of old. It trims the common prefix and suffix,
// diffs the rest line by line (Myers) and trims each changed block again,
// never cutting a surrogate pair. Applying the edits from last to first
// (or with Doc.ApplyEdits) yields new.
func Diff(old, new string) []Edit {
	if old == new {
		return nil
	}
	a, b := toUTF16(old), toUTF16(new)
	p, s := commonAffixes(a, b)
	am, bm := a[p:len(a)-s], b[p:len(b)-s]
	al, bl := splitLines(am), splitLines(bm)
	ops, ok := myers(al, bl)
	if !ok {
		return blockEdits(am, bm, p, nil)
	}
	var edits []Edit
	ai, bi := 0, 0 // unit offsets in am, bm
	for i := 0; i < len(ops); {
		if ops[i].kind == opEqual {
			ai += len(al[ops[i].a])
			bi += len(bl[ops[i].b])
			i++
			continue
		}
		da, db := 0, 0
		for ; i < len(ops) && ops[i].kind != opEqual; i++ {
			if ops[i].kind == opDelete {
				da += len(al[ops[i].a])
			} else {
				db += len(bl[ops[i].b])
			}
		}
		edits = blockEdits(am[ai:ai+da], bm[bi:bi+db], p+ai, edits)
		ai, bi = ai+da, bi+db
	}
	return edits
}

// blockEdits appends the edit replacing a by b at pos, trimmed.
func blockEdits(a, b []uint16, pos int, edits []Edit) []Edit {
	p, s := commonAffixes(a, b)
	a, b = a[p:len(a)-s], b[p:len(b)-s]
	if len(a) == 0 && len(b) == 0 {
		return edits
	}
	return append(edits, Edit{Pos: pos + p, Delete: len(a), Insert: fromUTF16(b)})
}

// commonAffixes returns the lengths of the common prefix and suffix of a
// and b that do not overlap and do not cut surrogate pairs.
func commonAffixes(a, b []uint16) (int, int) {
	n := min(len(a), len(b))
	p := 0
	for p < n && a[p] == b[p] {
		p++
	}
	if p > 0 && isHighSurrogate(a[p-1]) {
		p--
	}
	s := 0
	for s < n-p && a[len(a)-1-s] == b[len(b)-1-s] {
		s++
	}
	if s > 0 && isLowSurrogate(a[len(a)-s]) {
		s--
	}
	return p, s
}

func splitLines(s []uint16) [][]uint16 {
	var out [][]uint16
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		if i < len(s) {
			i++
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	return out
}

const (
	opEqual = iota
	opDelete
	opInsert
)

type diffOp struct {
	kind int
	a, b int // line indexes
}

// myers computes a shortest line edit script; ok is false when the edit
// distance exceeds maxDiffLines.
func myers(al, bl [][]uint16) ([]diffOp, bool) {
	ids := map[string]int{}
	key := func(l []uint16) int {
		k := fromUTF16(l)
		if id, ok := ids[k]; ok {
			return id
		}
		ids[k] = len(ids)
		return len(ids) - 1
	}
	a, b := make([]int, len(al)), make([]int, len(bl))
	for i, l := range al {
		a[i] = key(l)
	}
	for i, l := range bl {
		b[i] = key(l)
	}
	n, m := len(a), len(b)
	maxD := min(n+m, maxDiffLines)
	off := maxD + 1
	v := make([]int, 2*maxD+3)
	var trace [][]int
	for d := 0; d <= maxD; d++ {
		trace = append(trace, append([]int(nil), v...))
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
				return backtrack(trace, off, n, m, d), true
			}
		}
	}
	return nil, false
}

func backtrack(trace [][]int, off, x, y, d int) []diffOp {
	var ops []diffOp
	for ; d > 0; d-- {
		v := trace[d]
		k := x - y
		var pk int
		if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
			pk = k + 1
		} else {
			pk = k - 1
		}
		px := v[off+pk]
		py := px - pk
		for x > px && y > py {
			x--
			y--
			ops = append(ops, diffOp{opEqual, x, y})
		}
		if x == px {
			y--
			ops = append(ops, diffOp{opInsert, x, y})
		} else {
			x--
			ops = append(ops, diffOp{opDelete, x, y})
		}
	}
	for x > 0 && y > 0 {
		x--
		y--
		ops = append(ops, diffOp{opEqual, x, y})
	}
	for i, j := 0, len(ops)-1; i < j; i, j = i+1, j-1 {
		ops[i], ops[j] = ops[j], ops[i]
	}
	return ops
}
