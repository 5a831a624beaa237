package yjs

import (
	"encoding/json"
	"testing"
)

// The expectations were checked against yjs 13.6
// (createRelativePositionFromTypeIndex, then JSON.stringify of the
// position; createAbsolutePositionFromRelativePosition gives the index back).
func TestRelativePosition(t *testing.T) {
	d := NewDoc()
	if _, err := d.InsertText("content", 0, "ab😀\n", 7); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ReplaceText("content", "aXYb😀\n", 1<<40); err != nil {
		t.Fatal(err)
	}
	// text units: a(7:0) X(2^40:0) Y(2^40:1) b(7:1) 😀(7:2,7:3) \n(7:4)
	for _, c := range []struct {
		index, assoc int
		want         string
	}{
		{0, 0, `{"type":null,"tname":"content","item":{"client":7,"clock":0},"assoc":0}`},
		{0, -1, `{"type":null,"tname":"content","item":null,"assoc":-1}`},
		{3, -1, `{"type":null,"tname":"content","item":{"client":1099511627776,"clock":1},"assoc":-1}`},
		{3, 0, `{"type":null,"tname":"content","item":{"client":7,"clock":1},"assoc":0}`},
		{7, 0, `{"type":null,"tname":"content","item":null,"assoc":0}`},
		{7, -1, `{"type":null,"tname":"content","item":{"client":7,"clock":4},"assoc":-1}`},
	} {
		b, err := json.Marshal(d.RelativePosition("content", c.index, c.assoc))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != c.want {
			t.Errorf("index %d assoc %d: %s, want %s", c.index, c.assoc, b, c.want)
		}
	}
	if got := d.ClientState(1 << 40); got != 2 {
		t.Fatalf("client state %d", got)
	}
}
