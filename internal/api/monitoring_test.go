package api_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"ecode/internal/monitor"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// TestAdminMonitoring: the requests served before a sample appear in the
// series an admin reads, with the active users and the data disk; an
// unknown range is refused.
func TestAdminMonitoring(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		srv := testutil.NewServer(t, st)
		admin := srv.User(t, "admin")
		ctx := context.Background()
		var empty monitor.Series
		if err := call(admin, "GET", "/api/admin/monitoring", nil, &empty); err != nil {
			t.Fatal(err)
		}
		if empty.Range != "1h" || len(empty.Points) != 0 || empty.StepSeconds != 60 {
			t.Fatalf("before any sample: %+v; want 1h, no points, 60 s steps", empty)
		}
		for range 5 {
			if err := call(admin, "GET", "/api/projects", nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		srv.Clock.Advance(time.Minute)
		if err := srv.Monitor.Sample(ctx); err != nil {
			t.Fatal(err)
		}
		var s monitor.Series
		if err := call(admin, "GET", "/api/admin/monitoring?range=24h", nil, &s); err != nil {
			t.Fatal(err)
		}
		if s.Range != "24h" || s.StepSeconds != 720 || len(s.Points) != 1 {
			t.Fatalf("series = %+v; want 24h in 12 min steps with one point", s)
		}
		p := s.Points[0]
		// signup, the empty read, five reads: at least 7 requests.
		if p.Requests < 7 || p.Errors5xx != 0 || p.P95Ms <= 0 || p.UsersActive != 1 || p.DiskTotalBytes <= 0 || p.DiskFreeBytes <= 0 {
			t.Errorf("point = %+v; want ≥7 requests, no errors, a latency, 1 active user, the disk", p)
		}
		wantError(t, call(admin, "GET", "/api/admin/monitoring?range=2h", nil, nil), 400, "invalid")
	})
}

// lineWatch is a log writer that signals when a line containing want has
// been written.
type lineWatch struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
	once sync.Once
}

func (w *lineWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for _, line := range strings.Split(w.buf.String(), "\n") {
		if strings.Contains(line, "msg=request ") && strings.Contains(line, w.want) {
			w.once.Do(func() { close(w.seen) })
		}
	}
	if i := bytes.LastIndexByte(w.buf.Bytes(), '\n'); i >= 0 {
		w.buf.Next(i + 1)
	}
	return len(p), nil
}

// TestMonitoringLeavesStreamsOutOfLatency: an event stream open for ten
// minutes (on the server's clock) counts as a request, not as a latency.
func TestMonitoringLeavesStreamsOutOfLatency(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		logs := &lineWatch{want: `route="GET /api/projects/{id}/tree/events"`, seen: make(chan struct{})}
		srv := testutil.NewServer(t, st, testutil.ServerOptions{Logs: logs})
		admin := srv.User(t, "admin")
		ctx := context.Background()
		p, err := admin.CreateProject(ctx, "streams", "")
		if err != nil {
			t.Fatal(err)
		}
		srv.Clock.Advance(time.Minute)
		if err := srv.Monitor.Sample(ctx); err != nil { // a fresh window
			t.Fatal(err)
		}
		streamCtx, stop := context.WithCancel(ctx)
		res, err := admin.Raw(streamCtx, "GET", "/api/projects/"+p.ID+"/tree/events", nil, "")
		if err != nil {
			t.Fatal(err)
		}
		srv.Clock.Advance(10 * time.Minute) // the stream is open meanwhile
		stop()
		res.Body.Close()
		select {
		case <-logs.seen: // logged after the monitor was told
		case <-time.After(30 * time.Second):
			t.Fatal("the stream's request was never logged")
		}
		if err := srv.Monitor.Sample(ctx); err != nil {
			t.Fatal(err)
		}
		rows, err := st.MonitorSamples(ctx, time.Time{})
		if err != nil || len(rows) < 2 {
			t.Fatalf("samples = %v, %v", rows, err)
		}
		last := rows[len(rows)-1]
		if last.Requests < 1 || last.P95 > time.Second {
			t.Errorf("sample after the stream: %d requests, p95 %v; want the stream counted, not timed", last.Requests, last.P95)
		}
	})
}
