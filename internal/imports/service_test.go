package imports

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"ecode/internal/jobs"
	"ecode/internal/store"
	"ecode/internal/testutil/testdb"
)

// An import recorded in a transaction that rolls back has no job: it never
// runs, while one that commits does; its job is unique by import id.
func TestRolledBackImportNeverRuns(t *testing.T) {
	testdb.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		if err := jobs.Migrate(ctx, st); err != nil {
			t.Fatal(err)
		}
		q, err := jobs.New(ctx, jobs.Options{Store: st, Poll: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ran := make(chan string, 4)
		jobs.Handle(q, func(_ context.Context, j Job, _ int) error { ran <- j.ImportID; return nil })
		s := New(Deps{Store: st, Jobs: q, Log: slog.New(slog.DiscardHandler), Now: time.Now, StageDir: t.TempDir()})
		u, err := st.CreateUser(ctx, store.User{ID: "importer", Email: "i@example.com", Name: "i", CreatedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		imp := func(id string) store.Import {
			return store.Import{ID: id, UserID: u.ID, Source: SourceZip, Name: id, Status: store.ImportQueued,
				Progress: `{}`, ProjectID: id + "project", CreatedAt: time.Now(), UpdatedAt: time.Now()}
		}
		boom := errors.New("boom")
		err = st.InTx(ctx, func(tx *store.Store) error {
			if err := s.record(ctx, tx, imp("rolledback")); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("transaction: %v", err)
		}
		if err := st.InTx(ctx, func(tx *store.Store) error { return s.record(ctx, tx, imp("committed")) }); err != nil {
			t.Fatal(err)
		}
		if fresh, err := q.Enqueue(ctx, Job{ImportID: "committed"}, &jobs.Opts{Unique: true, MaxAttempts: maxAttempts}); err != nil || fresh {
			t.Errorf("a second job for the same import: enqueued %v, %v", fresh, err)
		}
		if _, err := st.Import(ctx, "rolledback"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("rolled-back import recorded: %v", err)
		}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); q.Run(runCtx) }()
		defer func() { stop(); <-done; q.Close() }()
		select {
		case id := <-ran:
			if id != "committed" { // the rolled-back one, enqueued first, would have run first
				t.Fatalf("ran import %q", id)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the committed import's job did not run")
		}
		var n int
		for _, state := range jobs.States {
			js, err := q.List(ctx, state, 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range js {
				if j.Kind == "import" {
					n++
				}
			}
		}
		if n != 1 {
			t.Errorf("%d import jobs, want 1", n)
		}
	})
}

// Cancelling a queued import ends it as cancelled and cancels its job, so
// the job never runs.
func TestCancelQueuedImportCancelsItsJob(t *testing.T) {
	testdb.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		if err := jobs.Migrate(ctx, st); err != nil {
			t.Fatal(err)
		}
		q, err := jobs.New(ctx, jobs.Options{Store: st})
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		jobs.Handle(q, func(context.Context, Job, int) error { return nil })
		s := New(Deps{Store: st, Jobs: q, Log: slog.New(slog.DiscardHandler), Now: time.Now, StageDir: t.TempDir()})
		u, err := st.CreateUser(ctx, store.User{ID: "canceller", Email: "c@example.com", Name: "c", CreatedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		x := store.Import{ID: "tocancel", UserID: u.ID, Source: SourceZip, Name: "c", Status: store.ImportQueued,
			Progress: `{}`, ProjectID: "tocancelproject", CreatedAt: time.Now(), UpdatedAt: time.Now()}
		if err := st.InTx(ctx, func(tx *store.Store) error { return s.record(ctx, tx, x) }); err != nil {
			t.Fatal(err)
		}
		if err := s.Cancel(ctx, x); err != nil {
			t.Fatal(err)
		}
		if got, err := st.Import(ctx, x.ID); err != nil || got.Status != store.ImportCancelled {
			t.Errorf("import after cancel: %+v %v", got, err)
		}
		js, err := q.List(ctx, "cancelled", 10)
		if err != nil || len(js) != 1 || js[0].Kind != "import" {
			t.Errorf("cancelled jobs: %+v %v", js, err)
		}
		if js, _ := q.List(ctx, "available", 10); len(js) != 0 {
			t.Errorf("jobs still waiting: %+v", js)
		}
	})
}
