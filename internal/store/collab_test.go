package store_test

import (
	"context"
	"fmt"
	"testing"

	"ecode/internal/store"
	"ecode/internal/testutil"
)

// A compaction that commits between CollabLoad's read of the document's
// row and its read of the updates deletes updates the row says are still
// logged: the load must not hand back a snapshot and updates with a hole
// between them, it reads again. On PostgreSQL the compaction commits from
// another connection (READ COMMITTED lets the second read see it); SQLite
// has one writer, held by the read's transaction, so it is done in that
// transaction, with the same effect on the second read.
func TestCollabLoadRereadsAfterACompaction(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		mkUser(t, st, "u", "u@x.test")
		if _, err := st.CreateProject(ctx, store.Project{ID: "p", Name: "p", OwnerID: "u", CreatedAt: t0, UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.CollabSeed(ctx, "p", "a.txt", []byte("seed"), "h0", t0); err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= 5; i++ {
			if _, err := st.CollabAppend(ctx, "p", "a.txt", [][]byte{fmt.Appendf(nil, "u%d", i)}, t0); err != nil {
				t.Fatal(err)
			}
		}
		compactions := 0
		hooked := store.WithCollabReadHook(ctx, func(tx *store.Store) {
			if compactions > 0 {
				return
			}
			compactions++
			on := st
			if st.Engine() == store.SQLite {
				on = tx
			}
			if err := on.CollabCompact(ctx, "p", "a.txt", []byte("up to 3"), 3, t0); err != nil {
				t.Error(err)
			}
		})
		d, err := st.CollabLoad(hooked, "p", "a.txt", -1)
		if err != nil {
			t.Fatal(err)
		}
		if compactions != 1 {
			t.Fatalf("%d compactions under the read", compactions)
		}
		var seqs []int64
		for _, u := range d.Updates {
			seqs = append(seqs, u.Seq)
		}
		if string(d.Snapshot) != "up to 3" || d.SnapshotSeq != 3 || d.LastSeq != 5 || fmt.Sprint(seqs) != "[4 5]" {
			t.Fatalf("loaded snapshot %q at %d, updates %v, last %d: want the compacted snapshot at 3 and updates [4 5] up to 5",
				d.Snapshot, d.SnapshotSeq, seqs, d.LastSeq)
		}
	})
}
