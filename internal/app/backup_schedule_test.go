package app_test

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"ecode/internal/app"
	"ecode/internal/backup"
	"ecode/internal/config"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// Scheduled backups run as a periodic job on the queue's clock, keep the
// newest --backup-keep, and are listed for admins.
func TestScheduledBackupsKeepTheNewest(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		var clock atomic.Int64
		clock.Store(time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC).UnixMicro())
		now := func() time.Time { return time.UnixMicro(clock.Load()).UTC() }
		done, swept := make(chan string, 8), make(chan struct{}, 8)
		srv := testutil.NewServer(t, st, testutil.ServerOptions{JobClock: now,
			Config: func(c *config.Config) { c.BackupEvery, c.BackupKeep = time.Hour, 2 },
			Built: func(s *app.Server) {
				s.OnJob = func(kind, state string) {
					switch kind {
					case "backup":
						done <- state
					case "session_sweep": // runs at start: the schedules are in their loop
						swept <- struct{}{}
					}
				}
			}})
		<-swept
		admin := srv.User(t, "admin") // the first account is the admin
		ctx := context.Background()
		if _, err := admin.CreateProject(ctx, "p", ""); err != nil {
			t.Fatal(err)
		}
		var made []string
		for range 3 {
			waitJob(t, srv, &clock, done, "backup")
			list, err := backup.List(srv.Config.BackupFolder())
			if err != nil || len(list) == 0 {
				t.Fatalf("list %v, %v", list, err)
			}
			made = append(made, list[0].Name)
			if _, err := backup.Verify(filepath.Join(srv.Config.BackupFolder(), list[0].Name)); err != nil {
				t.Fatal(err)
			}
		}
		var got struct {
			Every   string
			Keep    int
			Backups []backup.Info
		}
		if err := admin.Do(ctx, "GET", "/api/admin/backups", nil, "", &got); err != nil {
			t.Fatal(err)
		}
		if got.Every != "1h0m0s" || got.Keep != 2 || len(got.Backups) != 2 || got.Backups[0].Name != made[2] {
			t.Fatalf("listed %+v; made %v", got, made)
		}
		for _, name := range made[:2] { // the older ones are gone, unless among the newest two
			if name != got.Backups[1].Name && name < got.Backups[1].Name {
				if _, err := os.Stat(filepath.Join(srv.Config.BackupFolder(), name)); !os.IsNotExist(err) {
					t.Fatalf("%s was kept: %v", name, err)
				}
			}
		}
	})
}

// waitJob moves the clock an hour on and waits for the periodic job
// (kind, an hourly one or less often) that makes due. River's leader sometimes steps down and is elected again on
// the fake clock, and its periodic enqueuer then starts its schedules
// afresh from the clock's time, so while no backup has come the clock
// moves another hour every 3 s.
func waitJob(t *testing.T, srv *testutil.Server, clock *atomic.Int64, done <-chan string, kind string) {
	t.Helper()
	tick := time.NewTicker(3 * time.Second)
	defer tick.Stop()
	deadline := time.After(2 * time.Minute)
	clock.Add((time.Hour + time.Second).Microseconds())
	srv.Jobs.Wake()
	for {
		select {
		case state := <-done:
			if state == "completed" {
				return
			}
			// A job running when the clock jumps past River's rescue
			// deadline is rescued (retried): wait for a completed one.
			t.Logf("a %s job attempt ended %s", kind, state)
		case <-tick.C:
			clock.Add((time.Hour + time.Second).Microseconds())
			srv.Jobs.Wake()
		case <-deadline:
			t.Fatalf("no %s job two minutes after it was due", kind)
		}
	}
}
