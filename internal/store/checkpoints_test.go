package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"ecode/internal/store"
	"ecode/internal/testutil"
)

func TestCheckpoints(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		mkUser(t, st, "ua", "a@x.test")
		for _, id := range []string{"p1", "p2"} {
			if _, err := st.CreateProject(ctx, store.Project{ID: id, Name: id, OwnerID: "ua", CreatedAt: t0, UpdatedAt: t0}); err != nil {
				t.Fatal(err)
			}
		}
		a := store.Checkpoint{ID: "c1", ProjectID: "p1", Message: "first", CreatedBy: "ua", Trigger: "user",
			ManifestHash: "m1", DBHash: "d1", Env: json.RawMessage(`{"vars":{"A":"1"}}`), Metrics: json.RawMessage(`{"files":3}`), CreatedAt: t0}
		b := store.Checkpoint{ID: "c2", ProjectID: "p1", ParentID: "c1", Message: "second", Trigger: "agent",
			ManifestHash: "m2", ConversationHash: "v2", Env: json.RawMessage(`{}`), Metrics: json.RawMessage(`{}`), CreatedAt: t0.Add(time.Second)}
		for _, c := range []store.Checkpoint{a, b} {
			if err := st.CreateCheckpoint(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.CreateCheckpoint(ctx, store.Checkpoint{ID: "c3", ProjectID: "p2", ParentID: "c1", Trigger: "user", ManifestHash: "m", CreatedAt: t0}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("parent from another project: got %v, want ErrNotFound", err)
		}
		if err := st.CreateCheckpoint(ctx, store.Checkpoint{ID: "c4", ProjectID: "p2", Trigger: "bogus", ManifestHash: "m", CreatedAt: t0}); err == nil {
			t.Error("unknown trigger accepted")
		}
		got, err := st.Checkpoint(ctx, "p1", "c2")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(b, got); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
		if _, err := st.Checkpoint(ctx, "p2", "c2"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("checkpoint through another project: %v", err)
		}
		list, err := st.ListCheckpoints(ctx, "p1", 0)
		if err != nil || len(list) != 2 || list[0].ID != "c2" {
			t.Fatalf("list = %v, %v", list, err)
		}
		if one, _ := st.ListCheckpoints(ctx, "p1", 1); len(one) != 1 {
			t.Errorf("limit 1 gave %d", len(one))
		}
		if l, err := st.LatestCheckpoint(ctx, "p1"); err != nil || l.ID != "c2" {
			t.Errorf("latest = %v, %v", l.ID, err)
		}
		if _, err := st.LatestCheckpoint(ctx, "p2"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("latest of empty project: %v", err)
		}
		var refs [][3]string
		st.ListCheckpointRefs(ctx, func(m, d, c string) error { refs = append(refs, [3]string{m, d, c}); return nil })
		if len(refs) != 2 {
			t.Errorf("refs = %v", refs)
		}
		if err := st.DeleteCheckpoint(ctx, "p1", "c1"); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.Checkpoint(ctx, "p1", "c2"); got.ParentID != "" {
			t.Errorf("child keeps deleted parent %q", got.ParentID)
		}
		if err := st.DeleteCheckpoint(ctx, "p1", "c1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second delete: %v", err)
		}
		if err := st.DeleteProject(ctx, "p1"); err != nil {
			t.Fatal(err)
		}
		if list, _ := st.ListCheckpoints(ctx, "p1", 0); len(list) != 0 {
			t.Errorf("checkpoints outlive their project: %v", list)
		}
	})
}
