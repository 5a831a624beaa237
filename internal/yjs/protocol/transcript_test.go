package protocol

import (
	"bufio"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"ecode/internal/yjs"
)

// frame of the captured transcript: who, direction and bytes.
type capturedFrame struct {
	client   string
	toServer bool
	data     []byte
}

func readCapture(t *testing.T) []capturedFrame {
	f, err := os.Open("../testdata/capture-y-websocket-1.5.4.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []capturedFrame
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 5 || (fs[2] != "->" && fs[2] != "<-") {
			continue
		}
		b, err := hex.DecodeString(strings.Join(fs[4:], ""))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, capturedFrame{fs[1], fs[2] == "->", b})
	}
	return out
}

// TestCapturedTranscript replays what real y-websocket 1.5.4 providers sent
// to the reference server and checks that a server built from this package
// (HandleSync, Awareness) produces exactly the frames the reference server
// sent back: its SyncStep1 on connect, SyncStep2 replies, update and
// awareness broadcasts, and nothing for ignored awareness echoes.
func TestCapturedTranscript(t *testing.T) {
	frames := readCapture(t)
	if len(frames) < 20 {
		t.Fatalf("capture has %d frames", len(frames))
	}
	doc := yjs.NewDoc()
	aw := NewAwareness()
	sent := map[string]bool{} // frames the reference server sent
	for _, f := range frames {
		if !f.toServer {
			sent[string(f.data)] = true
		}
	}
	produced := map[string]bool{}
	connected := map[string]bool{}
	for _, f := range frames {
		if !f.toServer {
			continue
		}
		if !connected[f.client] {
			connected[f.client] = true
			produced[string(EncodeSyncStep1(doc.StateVector()))] = true
		}
		m, err := Decode(f.data)
		if err != nil {
			t.Fatalf("%s -> %x: %v", f.client, f.data, err)
		}
		switch m.Type {
		case MessageSync:
			reply, integrated, err := HandleSync(doc, m)
			if err != nil {
				t.Fatal(err)
			}
			if reply != nil {
				produced[string(reply)] = true
			}
			if integrated != nil {
				produced[string(EncodeUpdate(integrated))] = true
			}
		case MessageAwareness:
			if acc := aw.Apply(m.Awareness); len(acc) > 0 {
				produced[string(EncodeAwareness(EncodeAwarenessUpdate(acc)))] = true
			}
		}
	}
	for p := range produced {
		if !sent[p] {
			t.Errorf("Go server would send %x, the reference server never did", p)
		}
	}
	for s := range sent {
		if !produced[s] {
			t.Errorf("reference server sent %x, the Go server would not", s)
		}
	}
	if doc.Text("t") != "i" || len(aw.States()) != 0 {
		t.Fatalf("final text %q, %d awareness states", doc.Text("t"), len(aw.States()))
	}
}
