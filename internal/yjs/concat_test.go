package yjs

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

// relayed is what a server relays of random concurrent edits: the update
// its document emits for each client update, in the order it took them.
func relayed(t *testing.T, r *rand.Rand, clients, rounds int) [][]byte {
	server := NewDoc()
	docs := make([]*Doc, clients)
	for i := range docs {
		docs[i] = NewDoc()
	}
	var out [][]byte
	for k := 0; k < rounds; k++ {
		i := r.IntN(clients)
		for _, u := range randomLocalEdits(t, docs[i], r, 1+r.IntN(3), uint64(100+i)) {
			e, err := server.ApplyUpdateEmit(u)
			if err != nil {
				t.Fatal(err)
			}
			if e != nil {
				out = append(out, e)
			}
		}
		if r.IntN(4) == 0 { // some client catches up with the server
			j := r.IntN(clients)
			st, err := server.EncodeStateAsUpdate(docs[j].StateVector())
			if err != nil {
				t.Fatal(err)
			}
			mustApply(t, docs[j], st)
		}
	}
	return out
}

// A joined run of relayed updates does what the updates do one by one,
// in the Go document and in yjs.
func TestJoinUpdates(t *testing.T) {
	o := startOracle(t)
	joined := 0
	for seed := uint64(1); seed <= 60; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		ups := relayed(t, r, 2+r.IntN(3), 40)
		var chunks [][]byte
		for i := 0; i < len(ups); {
			n := min(1+r.IntN(8), len(ups)-i)
			j, err := JoinUpdates(ups[i : i+n])
			switch {
			case errors.Is(err, errNotAdjacent):
				chunks = append(chunks, ups[i:i+n]...)
			case err != nil:
				t.Fatalf("seed %d: %v", seed, err)
			default:
				chunks = append(chunks, j)
				joined += n
			}
			i += n
		}
		want, got := NewDoc(), NewDoc()
		for _, u := range ups {
			mustApply(t, want, u)
		}
		for _, u := range chunks {
			mustApply(t, got, u)
		}
		if got.Text("t") != want.Text("t") || !bytes.Equal(got.StateVector(), want.StateVector()) || got.HasPending() {
			t.Fatalf("seed %d: joined %q, one by one %q", seed, got.Text("t"), want.Text("t"))
		}
		if a, b := o.check(ups, true), o.check(chunks, true); a.State != b.State || a.Text != b.Text || b.Pending || b.Error != nil {
			t.Fatalf("seed %d: yjs: joined %q (pending %v, error %v), one by one %q", seed, b.Text, b.Pending, b.Error, a.Text)
		}
	}
	t.Logf("%d updates joined", joined)
	if joined == 0 {
		t.Fatal("nothing was joined")
	}
}

// Updates of one client that leave a gap are not joined.
func TestJoinUpdatesGap(t *testing.T) {
	d := NewDoc()
	a, _ := d.InsertText("t", 0, "a", 1)
	d.InsertText("t", 1, "b", 1)
	c, _ := d.InsertText("t", 2, "c", 1)
	if _, err := JoinUpdates([][]byte{a, c}); !errors.Is(err, errNotAdjacent) {
		t.Fatalf("joined across a gap: %v", err)
	}
	if _, err := JoinUpdates([][]byte{c, a}); !errors.Is(err, errNotAdjacent) {
		t.Fatalf("joined out of order: %v", err)
	}
}

func FuzzJoinUpdates(f *testing.F) {
	d := NewDoc()
	a, _ := d.InsertText("t", 0, "ab", 1)
	b, _ := d.DeleteText("t", 0, 1, 1)
	c, _ := d.InsertText("t", 1, "c", 1)
	f.Add(a, b)
	f.Add(b, c)
	f.Add([]byte{0, 0}, []byte{})
	f.Fuzz(func(t *testing.T, x, y []byte) {
		j, err := JoinUpdates([][]byte{x, y})
		if err != nil {
			return
		}
		if _, err := DecodeUpdate(j); err != nil {
			t.Fatalf("joined update does not decode: %v", err)
		}
		// applied to fresh documents, the joined update and the two give
		// the same text and state when both apply
		one, two := NewDoc(), NewDoc()
		err1 := one.ApplyUpdate(j)
		err2 := two.ApplyUpdate(x)
		if err2 == nil {
			err2 = two.ApplyUpdate(y)
		}
		if err1 != nil || err2 != nil {
			return
		}
		if one.Text("t") != two.Text("t") || !bytes.Equal(one.StateVector(), two.StateVector()) {
			t.Fatalf("joined %q, one by one %q", one.Text("t"), two.Text("t"))
		}
	})
}
