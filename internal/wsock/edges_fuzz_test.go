package wsock

import (
	"encoding/binary"
	"testing"
)

// wsFrames builds a stream of WebSocket frames from spec (one frame per
// byte: its length's encoding, its size, masked or not) and returns it
// with the offsets where a frame ends.
func wsFrames(spec []byte) (stream []byte, ends map[int]bool) {
	ends = map[int]bool{0: true}
	for i, b := range spec[:min(len(spec), 24)] {
		head := []byte{0x82 ^ b&0x0f, 0}
		var size int
		switch b % 3 {
		case 0:
			size = int(b>>2) % 126
			head[1] = byte(size)
		case 1:
			size = int(b) * 3
			head[1] = 126
			head = binary.BigEndian.AppendUint16(head, uint16(size))
		default:
			size = int(b)*7 + i
			head[1] = 127
			head = binary.BigEndian.AppendUint64(head, uint64(size))
		}
		if b&0x40 != 0 {
			head[1] |= 0x80
			head = append(head, 1, 2, 3, 4)
		}
		stream = append(stream, head...)
		stream = append(stream, make([]byte, size)...)
		ends[len(stream)] = true
	}
	return stream, ends
}

// FuzzEdges: fed a stream of frames in any pieces, Edges stands
// between two frames exactly where one ends; fed any bytes, it never
// fails, and pieces do not change where it stands.
func FuzzEdges(f *testing.F) {
	f.Add([]byte{0, 1, 2, 0x40, 0x41, 0x42}, []byte{1, 7, 200})
	f.Add([]byte{0xff, 0x7e, 0x7f}, []byte{0})
	f.Add(CloseFrame(4012, "the node running the project does not answer"), []byte{3, 1})
	f.Fuzz(func(t *testing.T, spec, pieces []byte) {
		stream, ends := wsFrames(spec)
		var bytewise Edges
		for i := range stream {
			if bytewise.Between() != ends[i] {
				t.Fatalf("at %d of %d: between %v, want %v", i, len(stream), bytewise.Between(), ends[i])
			}
			bytewise.Feed(stream[i : i+1])
		}
		if !bytewise.Between() {
			t.Fatal("not between frames at the end of the stream")
		}
		for k, s := range [][]byte{stream, spec} { // spec: any bytes
			var whole, inPieces Edges
			whole.Feed(s)
			for at, i := 0, 0; at < len(s); i++ {
				n := 1
				if len(pieces) > 0 {
					n = max(1, int(pieces[i%len(pieces)]))
				}
				n = min(n, len(s)-at)
				inPieces.Feed(s[at : at+n])
				at += n
				if k == 0 && inPieces.Between() != ends[at] {
					t.Fatalf("after a piece ending at %d: between %v, want %v", at, inPieces.Between(), ends[at])
				}
			}
			if whole != inPieces {
				t.Fatalf("fed whole: %+v, in pieces: %+v", whole, inPieces)
			}
		}
	})
}
