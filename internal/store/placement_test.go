package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"ecode/internal/store"
	"ecode/internal/testutil"
)

// TestDeploymentPlacement: a node's placement reads the live deployments
// nobody alive holds (no lease, an expired one, or one of a node that
// drains) and the ones it holds itself, never inactive ones.
func TestDeploymentPlacement(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := t0.Add(time.Hour)
		mkUser(t, st, "ua", "a@x.test")
		for _, id := range []string{"a", "b", "c"} {
			if err := st.RegisterNode(ctx, store.Node{ID: id, Address: "http://" + id, StartedAt: t0, HeartbeatAt: now, ExpiresAt: now.Add(time.Minute)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.SetNodeState(ctx, "c", store.NodeDraining); err != nil {
			t.Fatal(err)
		}
		for i, d := range []struct {
			id, node string
			live     bool
			until    time.Duration // the lease's expiry after now
		}{
			{"p1", "", true, 0},             // no lease
			{"p2", "b", true, -time.Second}, // expired
			{"p3", "b", true, time.Minute},  // another node's
			{"p4", "a", true, time.Minute},  // a's
			{"p5", "", false, 0},            // not live
			{"p6", "c", true, time.Minute},  // a draining node's
			{"p7", "a", false, time.Minute}, // not live, a's lease
			{"p8", "a", true, 0},            // a's, expired at now
		} {
			at := t0.Add(time.Duration(i) * time.Second)
			if _, err := st.CreateProject(ctx, store.Project{ID: d.id, Name: d.id, OwnerID: "ua", CreatedAt: at, UpdatedAt: at}); err != nil {
				t.Fatal(err)
			}
			if err := st.CreateDeployment(ctx, store.Deployment{ProjectID: d.id, Slug: d.id, Kind: "server", CreatedBy: "ua", CreatedAt: at, UpdatedAt: at}); err != nil {
				t.Fatal(err)
			}
			if d.live {
				rel := store.Release{ID: "r" + d.id, ProjectID: d.id, CheckpointID: "c", Kind: "server", Status: "live", CreatedBy: "ua", CreatedAt: at, UpdatedAt: at}
				if err := st.CreateRelease(ctx, rel); err != nil {
					t.Fatal(err)
				}
				if err := st.ActivateRelease(ctx, d.id, rel.ID, at); err != nil {
					t.Fatal(err)
				}
			}
			if d.node != "" {
				if ok, err := st.TakeDeploymentLease(ctx, d.id, d.node, nil, t0, now.Add(d.until)); err != nil || !ok {
					t.Fatalf("lease %s: %v, %v", d.id, ok, err)
				}
			}
		}
		ids := func(ds []store.Deployment, err error) []string {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			out := []string{}
			for _, d := range ds {
				out = append(out, d.ProjectID)
			}
			return out
		}
		for _, c := range []struct {
			name string
			got  []string
			want []string
		}{
			{"unheld", ids(st.UnheldDeployments(ctx, now)), []string{"p1", "p2", "p6", "p8"}},
			{"held by a", ids(st.HeldDeployments(ctx, "a", now)), []string{"p4"}},
			{"held by b", ids(st.HeldDeployments(ctx, "b", now)), []string{"p3"}},
			{"held by draining c", ids(st.HeldDeployments(ctx, "c", now)), []string{}},
			{"unheld a minute later", ids(st.UnheldDeployments(ctx, now.Add(time.Minute))), []string{"p1", "p2", "p3", "p4", "p6", "p8"}},
		} {
			if diff := cmp.Diff(c.want, c.got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", c.name, diff)
			}
		}
		if n, err := st.CountLiveDeployments(ctx); err != nil || n != 6 {
			t.Errorf("live deployments = %d, %v; want 6", n, err)
		}
	})
}
