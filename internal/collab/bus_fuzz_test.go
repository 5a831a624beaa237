package collab

import (
	"strings"
	"testing"
)

// FuzzBusFrame: any message from Redis decodes or fails, never panics, and
// a frame this node encodes decodes to what was put in, with its send time;
// busFrom reads the sender decodeBus reads.
func FuzzBusFrame(f *testing.F) {
	f.Add([]byte{1, 3, 'a', 'b', 'c', 7, 2, 'h', 'i', 0x80, 0x01})
	f.Add(encodeBus(busUpdate, "n", 42, []byte("payload")))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, node, _, _, err := decodeBus(b)
		if from := busFrom(b); err == nil && from != node {
			t.Fatalf("busFrom %q, decodeBus %q", from, node)
		}
		busSent(b)
		name := strings.ToValidUTF8(string(b), "?") // node names are UTF-8
		in := encodeBus(busAwareness, name, int64(len(b)), b)
		kind, node, seq, payload, err := decodeBus(in)
		if err != nil || kind != busAwareness || node != name || seq != int64(len(b)) || string(payload) != string(b) {
			t.Fatalf("round trip: %v %d %q %d %q", err, kind, node, seq, payload)
		}
		if busFrom(in) != name {
			t.Fatalf("busFrom %q, want %q", busFrom(in), name)
		}
		if busSent(in).IsZero() {
			t.Fatal("an encoded frame has no send time")
		}
	})
}
