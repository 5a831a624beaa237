package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"ecode/internal/store"
	"ecode/internal/testutil/testdb"
)

// TestErrorGroups: occurrences count in their group, the newest 50 are
// kept, and pruning drops the occurrences before a cutoff and the groups
// left without any.
func TestErrorGroups(t *testing.T) {
	testdb.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		g := store.ErrorGroup{ID: "g1", Source: "server", Kind: "panic", Message: "boom", Route: "GET /x", Stack: "s"}
		for i := range 60 {
			e := store.ErrorEvent{ID: fmt.Sprintf("e%02d", i), RequestID: fmt.Sprintf("r%02d", i), CreatedAt: t0.Add(time.Duration(i) * time.Second)}
			if err := st.RecordError(ctx, g, e); err != nil {
				t.Fatal(err)
			}
		}
		got, err := st.ErrorGroup(ctx, "g1")
		if err != nil || got.Count != 60 || got.LastRequestID != "r59" || !got.FirstSeen.Equal(t0) {
			t.Fatalf("group %+v %v", got, err)
		}
		es, err := st.ErrorEvents(ctx, "g1")
		if err != nil || len(es) != 50 || es[0].RequestID != "r59" || es[49].RequestID != "r10" {
			t.Fatalf("kept %d events (%v), want the newest 50", len(es), err)
		}
		// Retention: occurrences before the cutoff go, and the groups left
		// with none; a group with a newer occurrence stays.
		old := store.ErrorGroup{ID: "g2", Source: "browser", Kind: "error", Message: "old"}
		if err := st.RecordError(ctx, old, store.ErrorEvent{ID: "o1", CreatedAt: t0.Add(-48 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		mixed := store.ErrorGroup{ID: "g3", Source: "browser", Kind: "error", Message: "mixed"}
		for i, at := range []time.Time{t0.Add(-72 * time.Hour), t0} {
			if err := st.RecordError(ctx, mixed, store.ErrorEvent{ID: fmt.Sprintf("m%d", i), CreatedAt: at}); err != nil {
				t.Fatal(err)
			}
		}
		events, groups, err := st.PruneErrors(ctx, t0.Add(-time.Hour))
		if err != nil || events != 2 || groups != 1 {
			t.Fatalf("pruned %d events and %d groups (%v), want 2 and 1", events, groups, err)
		}
		if _, err := st.ErrorGroup(ctx, "g2"); err != store.ErrNotFound {
			t.Errorf("old group still there: %v", err)
		}
		if es, _ := st.ErrorEvents(ctx, "g2"); len(es) != 0 {
			t.Errorf("old group's events kept: %d", len(es))
		}
		if es, err := st.ErrorEvents(ctx, "g3"); err != nil || len(es) != 1 || es[0].ID != "m1" {
			t.Errorf("mixed group's events %+v (%v), want m1 only", es, err)
		}
		if g, err := st.ErrorGroup(ctx, "g3"); err != nil || g.Count != 2 {
			t.Errorf("mixed group %+v (%v), want kept with its count", g, err)
		}
		if es, _ := st.ErrorEvents(ctx, "g1"); len(es) != 50 {
			t.Errorf("recent group lost events: %d kept", len(es))
		}
	})
}
