package yjs

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

func loadVectors(t testing.TB) map[string][]byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/vectors-yjs-13.6.33.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for k, v := range m {
		b, err := hex.DecodeString(v)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		out[k] = b
	}
	return out
}

// updateVectors are the vectors that are plain updates.
var updateVectors = []string{
	"1-insert-hello-client1", "1b-append-bang-client1", "1c-full-state-after",
	"2a-client2-insert-X-at-2", "2b-client3-insert-Y-at-2", "2c-merged-state",
	"2d-client10-insert-A-empty", "2e-client20-insert-B-empty", "3-delete-1-3",
	"3b-full-state-after-delete-gc", "3c-delete-gc-off", "3d-full-state-gc-off",
	"3e-state-with-GC-struct", "6-utf16-insert-a-emoji-eacute", "6b-insert-inside-surrogate",
	"7-map-set-k-42", "7b-map-overwrite-k", "7c-text-insert-with-format", "7d-text-embed",
	"7e-nested-ytext-in-map", "7f-array-any-values", "8a-dependent-update-client3",
	"8b-encodeStateAsUpdate-includes-pending", "9-mergeUpdates-with-gap-skip",
}

func TestVectorsRoundTrip(t *testing.T) {
	v := loadVectors(t)
	for _, name := range updateVectors {
		u, err := DecodeUpdate(v[name])
		if err != nil {
			t.Errorf("%s: decode: %v", name, err)
			continue
		}
		if got := u.Encode(); !bytes.Equal(got, v[name]) {
			t.Errorf("%s: re-encode\n got %x\nwant %x", name, got, v[name])
		}
	}
}

func mustApply(t *testing.T, d *Doc, u []byte) {
	t.Helper()
	if err := d.ApplyUpdate(u); err != nil {
		t.Fatal(err)
	}
}

func state(t *testing.T, d *Doc) []byte {
	t.Helper()
	b, err := d.EncodeStateAsUpdate(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVectorsIntegrate(t *testing.T) {
	v := loadVectors(t)
	d := NewDoc()
	mustApply(t, d, v["1-insert-hello-client1"])
	if d.Text("t") != "hello" || !bytes.Equal(d.StateVector(), v["1-state-vector-after"]) {
		t.Fatalf("V1: %q %x", d.Text("t"), d.StateVector())
	}
	mustApply(t, d, v["1b-append-bang-client1"])
	if got := state(t, d); !bytes.Equal(got, v["1c-full-state-after"]) {
		t.Fatalf("V1c: %x", got)
	}
	for _, order := range [][]string{{"2a-client2-insert-X-at-2", "2b-client3-insert-Y-at-2"}, {"2b-client3-insert-Y-at-2", "2a-client2-insert-X-at-2"}} {
		d2 := NewDoc()
		mustApply(t, d2, v["1c-full-state-after"])
		for _, n := range order {
			mustApply(t, d2, v[n])
		}
		if d2.Text("t") != "heXYllo!" {
			t.Fatalf("V2: %q", d2.Text("t"))
		}
		if got := state(t, d2); !bytes.Equal(got, v["2c-merged-state"]) {
			t.Fatalf("V2c:\n got %x\nwant %x", got, v["2c-merged-state"])
		}
		mustApply(t, d2, v["3-delete-1-3"])
		if d2.Text("t") != "hllo!" {
			t.Fatalf("V3: %q", d2.Text("t"))
		}
		if got := state(t, d2); !bytes.Equal(got, v["3b-full-state-after-delete-gc"]) {
			t.Fatalf("V3b:\n got %x\nwant %x", got, v["3b-full-state-after-delete-gc"])
		}
	}
	for _, order := range [][]string{{"2d-client10-insert-A-empty", "2e-client20-insert-B-empty"}, {"2e-client20-insert-B-empty", "2d-client10-insert-A-empty"}} {
		d3 := NewDoc()
		for _, n := range order {
			mustApply(t, d3, v[n])
		}
		if d3.Text("t") != "AB" {
			t.Fatalf("empty root: %q", d3.Text("t"))
		}
	}
}

func TestVectorGCOff(t *testing.T) {
	v := loadVectors(t)
	d := NewDoc()
	d.SetGC(false)
	mustApply(t, d, v["1-insert-hello-client1"])
	mustApply(t, d, v["3c-delete-gc-off"])
	if d.Text("t") != "ho" {
		t.Fatalf("%q", d.Text("t"))
	}
	if got := state(t, d); !bytes.Equal(got, v["3d-full-state-gc-off"]) {
		t.Fatalf("V3d:\n got %x\nwant %x", got, v["3d-full-state-gc-off"])
	}
}

func TestVectorSurrogateSplit(t *testing.T) {
	v := loadVectors(t)
	d := NewDoc()
	mustApply(t, d, v["6-utf16-insert-a-emoji-eacute"])
	if d.Text("t") != "a😀é" || d.TextLen("t") != 4 {
		t.Fatalf("%q %d", d.Text("t"), d.TextLen("t"))
	}
	mustApply(t, d, v["6b-insert-inside-surrogate"])
	if want := "a\uFFFDZ\uFFFDé"; d.Text("t") != want {
		t.Fatalf("%q want %q", d.Text("t"), want)
	}
	// local insertion inside the pair produces the same update as yjs
	d2 := NewDoc()
	mustApply(t, d2, v["6-utf16-insert-a-emoji-eacute"])
	u, err := d2.InsertText("t", 2, "Z", 7)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(u, v["6b-insert-inside-surrogate"]) {
		t.Fatalf("local split update %x", u)
	}
}

func TestVectorPendingAndSkip(t *testing.T) {
	v := loadVectors(t)
	d := NewDoc()
	// client 1 "ab" as in vectors.mjs case 8
	base, _ := hex.DecodeString("01010100040101740261620" + "0")
	mustApply(t, d, base)
	mustApply(t, d, v["8a-dependent-update-client3"])
	if !d.HasPending() || !bytes.Equal(d.StateVector(), []byte{1, 1, 2}) {
		t.Fatalf("pending %v sv %x", d.HasPending(), d.StateVector())
	}
	if got := state(t, d); !bytes.Equal(got, v["8b-encodeStateAsUpdate-includes-pending"]) {
		t.Fatalf("V8b:\n got %x\nwant %x", got, v["8b-encodeStateAsUpdate-includes-pending"])
	}
	d2 := NewDoc()
	mustApply(t, d2, v["9-mergeUpdates-with-gap-skip"])
	if d2.Text("t") != "a" || !d2.HasPending() {
		t.Fatalf("V9: %q %v", d2.Text("t"), d2.HasPending())
	}
}

func TestVectorsOtherShapes(t *testing.T) {
	v := loadVectors(t)
	for _, n := range []string{"7-map-set-k-42", "7c-text-insert-with-format", "7d-text-embed", "3e-state-with-GC-struct", "7f-array-any-values"} {
		d := NewDoc()
		mustApply(t, d, v[n])
		if got := state(t, d); !bytes.Equal(got, v[n]) {
			t.Errorf("%s: state\n got %x\nwant %x", n, got, v[n])
		}
	}
	d := NewDoc()
	mustApply(t, d, v["7-map-set-k-42"])
	mustApply(t, d, v["7b-map-overwrite-k"])
	if d.HasPending() || !bytes.Equal(d.StateVector(), []byte{1, 9, 2}) {
		t.Fatalf("map overwrite: pending %v sv %x", d.HasPending(), d.StateVector())
	}
}
