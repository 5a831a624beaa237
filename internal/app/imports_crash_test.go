package app_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"ecode/internal/store"
	"ecode/internal/testutil"
)

// An import a crash interrupted (record running, project folder half made,
// staging left) ends as failed with nothing left once the server starts again.
func TestInterruptedImportFailsAtStart(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		first := testutil.NewServer(t, st)
		c := first.User(t, "crash")
		me, err := c.Me(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		now := time.Now()
		x := store.Import{ID: "imp1", UserID: me.ID, Source: "zip", Name: "half", Status: store.ImportRunning,
			Progress: `{"step":"creating"}`, ProjectID: "halfmadeproject1", CreatedAt: now, UpdatedAt: now}
		if err := st.CreateImport(ctx, x); err != nil {
			t.Fatal(err)
		}
		files, err := first.Files.Create(x.ProjectID) // as CreateFrom had begun
		if err != nil {
			t.Fatal(err)
		}
		files.Close()
		os.MkdirAll(filepath.Join(first.Dir, "imports", x.ID, "files"), 0o750)

		second := testutil.NewServer(t, st, testutil.ServerOptions{Dir: first.Dir})
		got, err := second.Store.Import(ctx, x.ID)
		if err != nil || got.Status != store.ImportFailed || got.Error == "" {
			t.Fatalf("after restart: %+v %v", got, err)
		}
		if _, err := os.Stat(first.Files.Area(x.ProjectID)); !os.IsNotExist(err) {
			t.Errorf("half-made project left: %v", err)
		}
		if _, err := os.Stat(filepath.Join(first.Dir, "imports", x.ID)); !os.IsNotExist(err) {
			t.Errorf("staging left: %v", err)
		}
	})
}
