package store_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"ecode/internal/store"
	"ecode/internal/testutil/testdb"
)

// TestCollabSnapshotsMoveOutOfTheRow: migration 0023 moves each document's
// snapshot from collab_docs to collab_snapshots; the documents an older
// version stored load as before, and a warm load no longer reads it.
func TestCollabSnapshotsMoveOutOfTheRow(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			url := filepath.Join(t.TempDir(), "test.db")
			if engine == store.Postgres {
				url = testdb.PostgresURL(t)
			}
			st, err := store.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if err := st.MigrateTo(ctx, 22); err != nil {
				t.Fatal(err)
			}
			mkUser(t, st, "ua", "a@x.test")
			if _, err := st.CreateProject(ctx, store.Project{ID: "p1", Name: "One", Template: "node", OwnerID: "ua", CreatedAt: t0, UpdatedAt: t0}); err != nil {
				t.Fatal(err)
			}
			old := []byte("the snapshot an older version stored")
			if err := st.Exec(ctx, `INSERT INTO collab_docs (project_id, path, snapshot, snapshot_seq, last_seq, file_hash, created_at, updated_at)
				VALUES ('p1', 'a.txt', ?, 4, 4, 'h', 1, 1)`, old); err != nil {
				t.Fatal(err)
			}
			if err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}

			d, err := st.CollabLoad(ctx, "p1", "a.txt", -1)
			if err != nil || !bytes.Equal(d.Snapshot, old) || d.SnapshotSeq != 4 || d.LastSeq != 4 || d.FileHash != "h" {
				t.Fatalf("cold load after the migration = %+v, %v", d, err)
			}
			if _, err := st.CollabAppend(ctx, "p1", "a.txt", [][]byte{[]byte("u5")}, t0); err != nil {
				t.Fatal(err)
			}
			if d, err = st.CollabLoad(ctx, "p1", "a.txt", 4); err != nil || d.Snapshot != nil || len(d.Updates) != 1 || d.Updates[0].Seq != 5 {
				t.Fatalf("warm load = %+v, %v; want no snapshot and update 5", d, err)
			}
			compacted := []byte("snapshot at 5")
			if err := st.CollabCompact(ctx, "p1", "a.txt", compacted, 5, t0); err != nil {
				t.Fatal(err)
			}
			if d, err = st.CollabLoad(ctx, "p1", "a.txt", 4); err != nil || !bytes.Equal(d.Snapshot, compacted) || d.SnapshotSeq != 5 || len(d.Updates) != 0 {
				t.Fatalf("load after compaction = %+v, %v", d, err)
			}

			// deleting the project takes the snapshot with it: the path can
			// be seeded again
			if err := st.DeleteProject(ctx, "p1"); err != nil {
				t.Fatal(err)
			}
			if _, err := st.CreateProject(ctx, store.Project{ID: "p1", Name: "One", Template: "node", OwnerID: "ua", CreatedAt: t0, UpdatedAt: t0}); err != nil {
				t.Fatal(err)
			}
			seed := []byte("a new seed")
			if created, err := st.CollabSeed(ctx, "p1", "a.txt", seed, "h2", t0); err != nil || !created {
				t.Fatalf("seed after delete = %v, %v", created, err)
			}
			if created, err := st.CollabSeed(ctx, "p1", "a.txt", []byte("another"), "h3", t0); err != nil || created {
				t.Fatalf("second seed = %v, %v; want not created", created, err)
			}
			if d, err = st.CollabLoad(ctx, "p1", "a.txt", -1); err != nil || !bytes.Equal(d.Snapshot, seed) {
				t.Fatalf("load of the new seed = %+v, %v", d, err)
			}
		})
	}
}
