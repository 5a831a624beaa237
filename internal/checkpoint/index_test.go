package checkpoint

import (
	"fmt"
	"reflect"
	"testing"
)

func sampleIndex() *index {
	ix := &index{Version: 1, Epoch: "0123abcd", Files: map[string]indexEntry{}}
	for i := range 50 {
		ix.Files[fmt.Sprintf("dir %d/ünïcode-%d.txt", i%7, i)] = indexEntry{
			Size: int64(i * 1000), Mtime: 1_700_000_000_000_000_000 + int64(i), Ctime: -int64(i), Ino: uint64(i) << 40, Dev: 2049,
			Mode: 0o644 | uint32(i%2)*0o4000, Hash: hashBytes([]byte{byte(i)}), Written: i%2 == 0, Restat: i%3 == 0,
		}
	}
	ix.Files["no hash yet"] = indexEntry{Size: 1}
	return ix
}

func TestIndexRoundTrip(t *testing.T) {
	ix := sampleIndex()
	got, err := decodeIndex(encodeIndex(ix))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, ix) {
		t.Errorf("round trip changed the index")
	}
	// Every truncation is refused, never half read.
	b := encodeIndex(ix)
	for n := range len(b) {
		if _, err := decodeIndex(b[:n]); err == nil {
			t.Fatalf("truncated to %d of %d bytes: decoded", n, len(b))
		}
	}
	if got := loadIndex(t.TempDir() + "/missing"); len(got.Files) != 0 {
		t.Error("missing index not empty")
	}
}

// The stat cache is read from disk: any bytes decode to an error or to an
// index that encodes back to the same thing.
func FuzzDecodeIndex(f *testing.F) {
	f.Add(encodeIndex(sampleIndex()))
	f.Add([]byte(indexMagic))
	f.Add([]byte(indexMagic + "\x00\x01\x01a"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ix, err := decodeIndex(b)
		if err != nil {
			return
		}
		again, err := decodeIndex(encodeIndex(ix))
		if err != nil || !reflect.DeepEqual(again, ix) {
			t.Fatalf("re-encoded index differs: %v", err)
		}
	})
}
