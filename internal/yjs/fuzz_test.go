package yjs

import (
	"bytes"
	"errors"
	"testing"
)

func addVectorSeeds(f *testing.F) {
	v := loadVectors(f)
	for _, n := range updateVectors {
		f.Add(v[n])
	}
	f.Add([]byte{0, 0})
	f.Add([]byte{})
}

func FuzzDecodeUpdate(f *testing.F) {
	addVectorSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := DecodeUpdate(b)
		if err != nil {
			return
		}
		enc := u.Encode()
		u2, err := DecodeUpdate(enc)
		if err != nil {
			t.Fatalf("re-decode of %x: %v", enc, err)
		}
		if enc2 := u2.Encode(); !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable:\n%x\n%x", enc, enc2)
		}
	})
}

func FuzzApplyUpdate(f *testing.F) {
	addVectorSeeds(f)
	v := loadVectors(f)
	base := [][]byte{v["2c-merged-state"], v["7-map-set-k-42"], v["7e-nested-ytext-in-map"]}
	later := [][]byte{v["8a-dependent-update-client3"], v["9-mergeUpdates-with-gap-skip"], v["3-delete-1-3"], v["7b-map-overwrite-k"]}
	f.Fuzz(func(t *testing.T, b []byte) {
		d := NewDoc()
		for _, u := range base {
			if err := d.ApplyUpdate(u); err != nil {
				t.Fatal(err)
			}
		}
		before, _ := d.EncodeStateAsUpdate(nil)
		beforeText := d.Text("t")
		err := d.ApplyUpdate(b)
		if errors.Is(err, ErrInternal) {
			t.Fatal(err)
		}
		after, err2 := d.EncodeStateAsUpdate(nil)
		if err2 != nil {
			t.Fatal(err2)
		}
		if err != nil {
			if !bytes.Equal(before, after) || d.Text("t") != beforeText {
				t.Fatalf("rejected update changed the document: %v", err)
			}
			return
		}
		// re-applying works, and the encoded state applies to a fresh doc
		if err := d.ApplyUpdate(b); err != nil {
			t.Fatalf("re-apply: %v", err)
		}
		fresh := NewDoc()
		if err := fresh.ApplyUpdate(after); err != nil {
			t.Fatalf("encoded state does not apply: %v\n%x", err, after)
		}
		// (the text may legitimately differ: hostile items with origins
		// that contradict the document integrate differently later; yjs
		// behaves the same way)
		_ = fresh.Text("t")
		_, _ = d.InsertText("t", d.TextLen("t"), "z", 1<<50)
		// more updates on top: retries of whatever b parked
		for _, u := range later {
			if err := d.ApplyUpdate(u); err != nil {
				t.Fatalf("later update: %v", err)
			}
		}
		if _, err := d.EncodeStateAsUpdate(d.StateVector()); err != nil {
			t.Fatal(err)
		}
	})
}
