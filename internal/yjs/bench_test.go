package yjs

import (
	"math/rand/v2"
	"testing"
)

// editingTrace makes a synthetic editing session of n single-character
// edits by one client: typing runs at a cursor that sometimes jumps,
// with about 20% backspaces. It returns the updates and the final text.
func editingTrace(tb testing.TB, n int) ([][]byte, string) {
	tb.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	d := NewDoc()
	const client = 7
	letters := []string{"a", "e", "t", " ", "\n", "o", "é", "😀"}
	cursor := 0
	ups := make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		l := d.TextLen("t")
		if r.IntN(50) == 0 {
			cursor = r.IntN(l + 1)
		}
		var u []byte
		var err error
		if cursor > 0 && r.IntN(5) == 0 {
			u, err = d.DeleteText("t", cursor-1, 1, client)
			cursor--
		} else {
			s := letters[r.IntN(len(letters))]
			u, err = d.InsertText("t", cursor, s, client)
			cursor += UTF16Len(s)
		}
		if err != nil {
			tb.Fatal(err)
		}
		ups = append(ups, u)
	}
	return ups, d.Text("t")
}

func TestEditingTraceConverges(t *testing.T) {
	ups, want := editingTrace(t, 5000)
	d := NewDoc()
	for _, u := range ups {
		mustApply(t, d, u)
	}
	if d.Text("t") != want || d.HasPending() {
		t.Fatalf("trace replay diverged")
	}
}

// BenchmarkApplyTrace replays 100k single-character edits (one update
// each) into a fresh document, like a server receiving a typing session.
func BenchmarkApplyTrace(b *testing.B) {
	ups, want := editingTrace(b, 100_000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d := NewDoc()
		for _, u := range ups {
			if err := d.ApplyUpdate(u); err != nil {
				b.Fatal(err)
			}
		}
		if i == 0 && d.Text("t") != want {
			b.Fatal("diverged")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ups)), "ns/update")
}

// BenchmarkLocalTyping types 100k characters sequentially with InsertText
// (the search cache keeps each insert O(1)).
func BenchmarkLocalTyping(b *testing.B) {
	for i := 0; i < b.N; i++ {
		d := NewDoc()
		for k := 0; k < 100_000; k++ {
			if _, err := d.InsertText("t", k, "x", 1); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100_000), "ns/insert")
}

// BenchmarkEncodeState encodes the full state of the 100k-edit trace.
func BenchmarkEncodeState(b *testing.B) {
	ups, _ := editingTrace(b, 100_000)
	d := NewDoc()
	for _, u := range ups {
		if err := d.ApplyUpdate(u); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := d.EncodeStateAsUpdate(nil); err != nil {
			b.Fatal(err)
		}
	}
}
