package yjs

import "ecode/internal/linediff"

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
	ops, ok := linediff.Diff(lineKeys(al), lineKeys(bl), maxDiffLines)
	if !ok {
		return blockEdits(am, bm, p, nil)
	}
	var edits []Edit
	ai, bi := 0, 0 // unit offsets in am, bm
	la, lb := 0, 0 // line indexes in al, bl
	for i := 0; i < len(ops); {
		if ops[i] == linediff.Equal {
			ai += len(al[la])
			bi += len(bl[lb])
			la, lb, i = la+1, lb+1, i+1
			continue
		}
		da, db := 0, 0
		for ; i < len(ops) && ops[i] != linediff.Equal; i++ {
			if ops[i] == linediff.Delete {
				da += len(al[la])
				la++
			} else {
				db += len(bl[lb])
				lb++
			}
		}
		edits = blockEdits(am[ai:ai+da], bm[bi:bi+db], p+ai, edits)
		ai, bi = ai+da, bi+db
	}
	return edits
}

// lineKeys turns lines of UTF-16 units into comparable keys, exactly (two
// bytes a unit: lone surrogates stay distinct).
func lineKeys(lines [][]uint16) []string {
	keys := make([]string, len(lines))
	for i, l := range lines {
		b := make([]byte, 2*len(l))
		for j, u := range l {
			b[2*j], b[2*j+1] = byte(u), byte(u>>8)
		}
		keys[i] = string(b)
	}
	return keys
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
