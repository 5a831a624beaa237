package fake

import (
	"encoding/json"
	"testing"
)

func TestInterleave(t *testing.T) {
	f := &Anthropic{secret: []byte("s"), issued: map[string]bool{}}
	f.ChunkSize = 4
	r := Respond{Content: []Content{Tool("a", map[string]any{"x": "0123456789"}), Tool("b", map[string]any{"y": "abcdefghij"})}, StopReason: "tool_use"}
	evs := interleave(f.events(r, 0, 100))
	started2, stopped1 := -1, -1
	partial := map[any]string{}
	for i, e := range evs {
		if e["type"] == "content_block_start" && e["index"] == 1 {
			started2 = i
		}
		if e["type"] == "content_block_stop" && e["index"] == 0 {
			stopped1 = i
		}
		if d, ok := e["delta"].(ev); ok && d["type"] == "input_json_delta" {
			partial[e["index"]] += d["partial_json"].(string)
		}
	}
	if started2 < 0 || stopped1 < 0 || started2 > stopped1 {
		t.Fatalf("not interleaved: start of block 1 at %d, stop of block 0 at %d", started2, stopped1)
	}
	for i, want := range []string{`{"x":"0123456789"}`, `{"y":"abcdefghij"}`} {
		if partial[i] != want || !json.Valid([]byte(partial[i])) {
			t.Errorf("block %d input %q", i, partial[i])
		}
	}
	if len(evs) != len(f.events(r, 0, 100)) {
		t.Error("events lost")
	}
}
