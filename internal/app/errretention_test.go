package app_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"ecode/internal/app"
	"ecode/internal/errtrack"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// The error_retention job, on the queue's clock, deletes tracked errors'
// occurrences older than --error-retention (default 30 days) and the groups
// left without any, and the web vitals as old; newer ones stay.
func TestErrorRetentionJob(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		var clock atomic.Int64
		clock.Store(time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC).UnixMicro())
		jobNow := func() time.Time { return time.UnixMicro(clock.Load()).UTC() }
		done := make(chan string, 16)
		srv := testutil.NewServer(t, st, testutil.ServerOptions{JobClock: jobNow,
			Built: func(s *app.Server) {
				s.OnJob = func(kind, state string) {
					if kind == "error_retention" {
						done <- state
					}
				}
			}})
		if srv.Config.ErrorRetention != 30*24*time.Hour {
			t.Fatalf("default --error-retention %v", srv.Config.ErrorRetention)
		}
		if state := <-done; state != "completed" { // the run at start: the schedules are in their loop
			t.Fatalf("error_retention at start: %s", state)
		}
		ctx := context.Background()
		report := func(msg string) string {
			return srv.Errors.Capture(ctx, errtrack.Report{Source: errtrack.SourceBrowser, Kind: errtrack.KindError,
				Message: msg, Route: "/p/x"})
		}
		gone, kept := report("a fault fixed long ago"), report("a recurring fault")
		srv.Errors.RecordVital("LCP", "/old", 900)
		srv.Clock.Advance(20 * 24 * time.Hour)
		report("a recurring fault")
		srv.Errors.RecordVital("LCP", "/recent", 100)
		srv.Clock.Advance(11 * 24 * time.Hour) // the first reports are 31 days old
		for len(done) > 0 {
			<-done
		}
		waitJob(t, srv, &clock, done, "error_retention")

		if _, err := st.ErrorGroup(ctx, gone); err != store.ErrNotFound {
			t.Errorf("the group with only old occurrences: %v", err)
		}
		if g, err := st.ErrorGroup(ctx, kept); err != nil || g.Count != 2 {
			t.Errorf("the recurring group %+v (%v), want kept with count 2", g, err)
		}
		if es, err := st.ErrorEvents(ctx, kept); err != nil || len(es) != 1 || !es[0].CreatedAt.Equal(srv.Clock.Now().Add(-11*24*time.Hour)) {
			t.Errorf("the recurring group's occurrences %+v (%v), want the recent one only", es, err)
		}
		if vs := srv.Errors.Vitals(); len(vs) != 1 || vs[0].Page != "/recent" {
			t.Errorf("web vitals %+v, want /recent only", vs)
		}
	})
}
