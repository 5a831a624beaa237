package yjs

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"testing"
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// Malformed updates are rejected without changing the document.
func TestHostileUpdatesAreAtomic(t *testing.T) {
	v := loadVectors(t)
	base := v["2c-merged-state"]
	bad := map[string][]byte{
		"truncated ds":            base[:len(base)-1],
		"truncated struct":        base[:20],
		"invalid utf8":            mustHex("01010100040101740268c300"),
		"unknown content ref":     mustHex("010101000b0101740100"),
		"unknown type ref":        mustHex("01010100070101740900"),
		"future origin":           mustHex("010101058401090121" + "00"),
		"self origin":             mustHex("010101058401050121" + "00"),
		"empty string":            mustHex("01010100040101740000"),
		"zero gc":                 mustHex("0101010000" + "0000"),
		"huge length":             mustHex("010101ffffffffffffff0f0001" + "00"),
		"deep any":                append(append(mustHex("0101010008010174"+"01"), bytes.Repeat([]byte{0x75, 0x01}, 100)...), 0x7e, 0),
		"bad json":                mustHex("01010100020101740101" + "7b" + "00"),
		"varuint overflow":        mustHex("01ffffffffffffffffff01"),
		"ds clock overflow":       mustHex("000101" + "01" + "ffffffffffffff0f" + "05"),
		"group count but no data": mustHex("05"),
	}
	for name, u := range bad {
		d := NewDoc()
		mustApply(t, d, base)
		before := state(t, d)
		err := d.ApplyUpdate(u)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if errors.Is(err, ErrInternal) {
			t.Errorf("%s: %v", name, err)
		}
		if after := state(t, d); !bytes.Equal(before, after) || d.Text("t") != "heXYllo!" {
			t.Errorf("%s: document changed", name)
		}
	}
}

// Odd but well-formed updates integrate like yjs does.
func TestOddUpdates(t *testing.T) {
	v := loadVectors(t)
	// a repeated client group replaces the earlier one (clock 1 stays pending)
	d := NewDoc()
	mustApply(t, d, mustHex("02"+"010100"+"0401017401"+"61"+"010101"+"840100"+"0162"+"00"))
	if d.Text("t") != "" || !d.HasPending() {
		t.Fatalf("repeated group: %q pending %v", d.Text("t"), d.HasPending())
	}
	// a parent id pointing at a non-type item integrates as GC
	d = NewDoc()
	mustApply(t, d, v["1-insert-hello-client1"])
	mustApply(t, d, mustHex("0101020004000100"+"0178"+"00"))
	if d.Text("t") != "hello" || !bytes.Equal(d.StateVector(), mustHex("0202010105")) {
		t.Fatalf("bad parent: %q %x", d.Text("t"), d.StateVector())
	}
	// partially known struct integrates only the tail; re-applying is a no-op
	d = NewDoc()
	mustApply(t, d, mustHex("01010100040101740361626300"))
	mustApply(t, d, mustHex("0101010004010174066162636465660"+"0"))
	mustApply(t, d, mustHex("0101010004010174066162636465660"+"0"))
	if d.Text("t") != "abcdef" {
		t.Fatalf("overlap: %q", d.Text("t"))
	}
	// a delete range beyond the known state is parked and completed later
	d = NewDoc()
	mustApply(t, d, mustHex("01010100040101740361626300"))
	em, err := d.ApplyUpdateEmit(mustHex("000101010104"))
	if err != nil || d.Text("t") != "a" || !d.HasPending() || em == nil {
		t.Fatalf("partial delete: %q %v %v", d.Text("t"), d.HasPending(), err)
	}
	mustApply(t, d, mustHex("01010103840102026465"+"00"))
	if d.Text("t") != "a" || d.HasPending() {
		t.Fatalf("completed delete: %q %v", d.Text("t"), d.HasPending())
	}
}

func TestLocalEditing(t *testing.T) {
	d := NewDoc()
	var ups [][]byte
	step := func(u []byte, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		ups = append(ups, u)
	}
	step(d.InsertText("content", 0, "hello world", 1))
	step(d.InsertText("content", 5, ",", 1))
	step(d.DeleteText("content", 0, 1, 1))
	step(d.InsertText("content", 0, "H😀", 2))
	step(d.ReplaceText("content", "H😀ello, brave world!\n", 3))
	if got := d.Text("content"); got != "H😀ello, brave world!\n" {
		t.Fatalf("%q", got)
	}
	if _, err := d.InsertText("content", 100, "x", 1); err == nil {
		t.Fatal("insert out of range accepted")
	}
	if _, err := d.DeleteText("content", 3, 100, 1); err == nil {
		t.Fatal("delete out of range accepted")
	}
	if u, err := d.ReplaceText("content", d.Text("content"), 3); u != nil || err != nil {
		t.Fatal("no-op replace produced an update")
	}
	// the updates rebuild the same document elsewhere, in any order
	for _, order := range [][]int{{0, 1, 2, 3, 4}, {4, 3, 2, 1, 0}, {2, 4, 0, 3, 1}} {
		r := NewDoc()
		for _, i := range order {
			mustApply(t, r, ups[i])
		}
		if r.Text("content") != d.Text("content") || r.HasPending() {
			t.Fatalf("order %v: %q", order, r.Text("content"))
		}
		if !bytes.Equal(state(t, r), state(t, d)) {
			t.Fatalf("order %v: state differs", order)
		}
	}
}

func TestDiff(t *testing.T) {
	cases := [][2]string{
		{"", ""}, {"", "abc"}, {"abc", ""}, {"abc", "abXc"}, {"a😀b", "a😁b"},
		{"line1\nline2\nline3\n", "line1\nline2 changed\nline3\nline4\n"},
		{"x\ny\nz\n", "z\ny\nx\n"}, {"😀😀", "😀"}, {"ab😀", "ab😀😀"},
		{"func a() {\n\treturn 1\n}\n\nfunc b() {}\n", "// doc\nfunc a() {\n\treturn 2\n}\n\nfunc c() {}\n"},
	}
	for _, c := range cases {
		d := NewDoc()
		if _, err := d.InsertText("t", 0, c[0], 1); err != nil {
			t.Fatal(err)
		}
		edits := Diff(c[0], c[1])
		if _, err := d.ApplyEdits("t", edits, 2); err != nil {
			t.Fatal(err)
		}
		if d.Text("t") != c[1] {
			t.Errorf("%q -> %q: got %q via %+v", c[0], c[1], d.Text("t"), edits)
		}
		if c[0] == c[1] && edits != nil {
			t.Errorf("edits for equal texts")
		}
	}
	// minimal: one changed line in a long file gives one small edit
	old := ""
	for i := 0; i < 200; i++ {
		old += "some line of code\n"
	}
	n := old[:180] + "some line of CODE\n" + old[198:]
	if e := Diff(old, n); len(e) != 1 || e[0].Delete != 4 || e[0].Insert != "CODE" {
		t.Fatalf("%+v", e)
	}
}

// textModel mirrors local edits on a UTF-16 slice, including the yjs rule
// that cutting a surrogate pair turns both halves into U+FFFD.
type textModel []uint16

func (m *textModel) cut(pos int) {
	s := *m
	if pos > 0 && pos < len(s) && isHighSurrogate(s[pos-1]) && isLowSurrogate(s[pos]) {
		s[pos-1], s[pos] = 0xfffd, 0xfffd
	}
}

func (m *textModel) insert(pos int, s string) {
	m.cut(pos)
	u := toUTF16(s)
	*m = append((*m)[:pos], append(u, (*m)[pos:]...)...)
}

func (m *textModel) delete(pos, n int) {
	m.cut(pos)
	m.cut(pos + n)
	*m = append((*m)[:pos], (*m)[pos+n:]...)
}

// Many random local edits (exercising the search cache) match a model, and
// a replica fed the updates (some remote edits in between) agrees.
func TestLocalEditsMatchModel(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	a, b := NewDoc(), NewDoc()
	var m textModel
	words := []string{"a", "😀", "é", "\n", "hello ", "👩‍💻", "xy"}
	cursor := 0
	for k := 0; k < 10000; k++ {
		n := len(m)
		if r.IntN(10) == 0 {
			cursor = r.IntN(n + 1)
		}
		cursor = min(cursor, n)
		var u []byte
		var err error
		switch {
		case n > 0 && r.IntN(4) == 0:
			p := r.IntN(n)
			l := 1 + r.IntN(min(5, n-p))
			u, err = a.DeleteText("t", p, l, 1)
			m.delete(p, l)
			cursor = p
		default:
			s := words[r.IntN(len(words))]
			u, err = a.InsertText("t", cursor, s, 1)
			m.insert(cursor, s)
			cursor += UTF16Len(s)
		}
		if err != nil {
			t.Fatal(err)
		}
		mustApply(t, b, u)
		if k%500 == 0 {
			// a remote client appends at the end; the model follows
			ru, err := b.InsertText("t", b.TextLen("t"), "R", 2)
			if err != nil {
				t.Fatal(err)
			}
			mustApply(t, a, ru)
			m.insert(len(m), "R")
		}
		if k%97 == 0 || k == 9999 {
			if got, want := a.Text("t"), fromUTF16(m); got != want || a.TextLen("t") != len(m) {
				t.Fatalf("op %d: text diverged from model\n got %q\nwant %q", k, got, want)
			}
			if b.Text("t") != a.Text("t") {
				t.Fatalf("op %d: replica diverged", k)
			}
		}
	}
}
