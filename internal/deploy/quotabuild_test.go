package deploy_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ecode/internal/store"
	"ecode/internal/testutil"
)

// TestCreditsRunOutDuringBuild: a release whose build finishes after the
// owner's credits ran out does not go live: it fails saying so, and the
// release before it stays the active one (suspended). Once topped up, a
// publish goes live again.
func TestCreditsRunOutDuringBuild(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		id, first := e.publishLive("Thrifty", "server", `{"kind":"server"}`, map[string]string{"index.js": helloApp})
		// the next build waits for a file the test makes once the credits are gone
		gated := "run = \"node index.js\"\nport = 3000\nbuild = \"while [ ! -e go ]; do sleep 0.1; done\"\n"
		if err := e.c.WriteFile(ctx, id, ".ecode.toml", []byte(gated)); err != nil {
			t.Fatal(err)
		}
		second := e.publish(id, "server")
		e.waitRelease(id, second.Release.ID, "building")

		owner, err := st.ProjectOwner(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.srv.Billing.Recorder().RecordUsage(ctx, store.UsageEvent{ID: "big", IdempotencyKey: "during-build-big", ProjectID: id,
			Kind: "sandbox_cpu_seconds", Quantity: 3600 * 1000, CreatedAt: e.srv.Clock.Now()}); err != nil {
			t.Fatal(err)
		}
		e.waitRelease(id, first.Release.ID, "suspended")
		if err := os.WriteFile(filepath.Join(e.srv.Dir, "deployments", id, second.Release.ID, "app", "go"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		r := e.waitRelease(id, second.Release.ID, "live", "failed")
		if r.Status != "failed" || !strings.Contains(r.Reason, "credits ran out during the build") {
			t.Fatalf("the release built after the credits ran out: %+v, want failed saying so", r)
		}
		if d := e.get(id); d.ActiveReleaseID != first.Release.ID || d.Status != "suspended" {
			t.Fatalf("after the refused switch: active %s (%s), want %s still (suspended)", d.ActiveReleaseID, d.Status, first.Release.ID)
		}
		if code, body := e.fetch(first.URL, "/"); code != 503 || !strings.Contains(body, "paused") {
			t.Fatalf("the app answered %d %q, want the paused page", code, body)
		}

		if err := e.srv.Billing.Grant(ctx, owner, 1_000_000_000, "top up", "test", "during-build-topup"); err != nil {
			t.Fatal(err)
		}
		if err := e.c.WriteFile(ctx, id, ".ecode.toml", []byte("run = \"node index.js\"\nport = 3000\n")); err != nil {
			t.Fatal(err)
		}
		third := e.publish(id, "server")
		if r := e.waitRelease(id, third.Release.ID, "live", "failed"); r.Status != "live" {
			t.Fatalf("the publish after the top-up: %+v", r)
		}
		if code, body := e.fetch(third.URL, "/"); code != 200 || !strings.Contains(body, "hello from the app") {
			t.Fatalf("after the top-up: %d %q", code, body)
		}
	})
}
