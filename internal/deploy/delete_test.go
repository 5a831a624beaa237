package deploy_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ecode/internal/auth"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// TestDeleteStopsDeployment: deleting a project stops its live app at once
// (its process ends, its host answers 404) and removes its release files.
func TestDeleteStopsDeployment(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		p, err := e.c.CreateProject(ctx, "Doomed", "node")
		if err != nil {
			t.Fatal(err)
		}
		marker := "app-" + strings.ToLower(auth.NewID()) + ".js" // names the process on the host
		files := map[string]string{marker: crashingApp, ".ecode.toml": "run = \"node " + marker + "\"\nport = 3000\n"}
		for name, body := range files {
			if err := e.c.WriteFile(ctx, p.ID, name, []byte(body)); err != nil {
				t.Fatal(err)
			}
		}
		pub := e.publish(p.ID, "server")
		if r := e.waitRelease(p.ID, pub.Release.ID, "live", "failed"); r.Status != "live" {
			t.Fatalf("release: %+v", r)
		}
		if code, _ := e.fetch(pub.URL, "/"); code != 200 {
			t.Fatalf("before the delete the app answered %d", code)
		}
		if !running(t, marker) {
			t.Fatal("the app's process is not seen on the host: the check below would prove nothing")
		}
		releases := filepath.Join(e.srv.Dir, "deployments", p.ID)
		if _, err := os.Stat(releases); err != nil {
			t.Fatal(err)
		}

		if err := e.c.Do(ctx, "DELETE", "/api/projects/"+p.ID, nil, "", nil); err != nil {
			t.Fatal(err)
		}
		if running(t, marker) {
			t.Fatal("the app still runs after its project was deleted")
		}
		if code, _ := e.fetchStatus(pub.URL, "/"); code != 404 {
			t.Fatalf("after the delete the app's host answered %d, want 404", code)
		}
		if _, err := os.Stat(releases); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("release files after the delete: %v", err)
		}
	})
}

// running reports whether a process on the host has marker in its command line.
func running(t *testing.T, marker string) bool {
	t.Helper()
	procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(marker)) {
			return true
		}
	}
	return false
}
