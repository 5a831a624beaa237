package yjs

import "testing"

// editingTrace is SyntheticTrace for a test or benchmark.
func editingTrace(tb testing.TB, n int) ([][]byte, string) {
	tb.Helper()
	ups, text, err := SyntheticTrace(n)
	if err != nil {
		tb.Fatal(err)
	}
	return ups, text
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
