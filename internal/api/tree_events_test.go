package api_test

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ecode/internal/store"
	"ecode/internal/testutil"
)

// A file that appears on disk by any route (here: written straight into the
// project folder, as a run or a terminal would) makes the tree's event
// stream say "changed", and so does a rename.
func TestTreeEventsReportListingChanges(t *testing.T) {
	srv := testutil.NewServer(t, testutil.NewStore(t, store.SQLite)) // polls every 20 ms
	c := srv.User(t, "tree")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := c.CreateProject(ctx, "tree", "blank")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Raw(ctx, "GET", "/api/projects/"+p.ID+"/tree/events", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	events := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if name, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				events <- name
			}
		}
		close(events)
	}()
	next := func() string {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatal("stream ended")
			}
			return e
		case <-ctx.Done():
			t.Fatal("no event")
		}
		return ""
	}
	if e := next(); e != "listing" {
		t.Fatalf("first event %q", e)
	}
	dir := filepath.Join(srv.Dir, "projects", p.ID, "files")
	if err := os.MkdirAll(filepath.Join(dir, "made", "by"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "made", "by", "terminal.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if e := next(); e != "changed" {
		t.Fatalf("after a new file: %q", e)
	}
	// Drain what the two steps above may have produced, then a rename.
	for len(events) > 0 {
		<-events
	}
	if err := os.Rename(filepath.Join(dir, "made", "by", "terminal.txt"), filepath.Join(dir, "made", "by", "moved.txt")); err != nil {
		t.Fatal(err)
	}
	if e := next(); e != "changed" {
		t.Fatalf("after a rename: %q", e)
	}
	// Another person's project stays out of reach.
	stranger := srv.User(t, "stranger")
	r2, err := stranger.Raw(ctx, "GET", "/api/projects/"+p.ID+"/tree/events", nil, "")
	if err == nil {
		r2.Body.Close()
		t.Fatalf("stranger got %d", r2.StatusCode)
	}
	if !strings.Contains(err.Error(), "404") {
		t.Errorf("stranger: %v", err)
	}
}
