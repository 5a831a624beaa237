package cluster_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"ecode/internal/cluster"
	"ecode/internal/store"
	"ecode/internal/testutil/testdb"
)

// lookClock is the test's clock, telling each look at it to whoever
// listens on looked (a watcher judging a node reads the clock once).
type lookClock struct {
	*clock
	looked chan struct{}
}

func (c *lookClock) Now() time.Time {
	select {
	case c.looked <- struct{}{}:
	default:
	}
	return c.clock.Now()
}

// streamingNode is a node's internal listener that answers with a stream
// that has started (a first line), then sends a line for each value on
// the returned channel and nothing else: when its host pauses, its
// connections stay open and silent. With upgrade, it switches protocols
// (as a WebSocket does) and streams on the raw connection.
func streamingNode(t *testing.T, upgrade bool) (url string, more chan<- string) {
	t.Helper()
	ch, quit := make(chan string), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		send := func(s string) error {
			_, err := io.WriteString(w, s+"\n")
			http.NewResponseController(w).Flush()
			return err
		}
		done := r.Context().Done()
		if upgrade {
			conn, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: lines\r\n\r\n")
			send = func(s string) error {
				brw.WriteString(s + "\n")
				return brw.Flush()
			}
			done = nil // a hijacked request's context does not end with its connection
		}
		if send("first") != nil {
			return
		}
		for {
			select {
			case s := <-ch:
				if send(s) != nil {
					return
				}
			case <-done:
				return
			case <-quit:
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(quit) }) // (before srv.Close)
	return srv.URL, ch
}

// openStream calls url through the cluster's transport and returns the
// stream's lines as they come, then the error that ended it.
func openStream(t *testing.T, c *cluster.Cluster, url string, upgrade bool) (lines <-chan string, ended <-chan error, body io.ReadCloser) {
	t.Helper()
	req, err := http.NewRequest("GET", url+"/internal/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := http.StatusOK
	if upgrade {
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "lines")
		want = http.StatusSwitchingProtocols
	}
	resp, err := (&http.Client{Transport: c.Transport()}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != want {
		t.Fatalf("stream answered %s", resp.Status)
	}
	if _, ok := resp.Body.(io.ReadWriteCloser); ok != upgrade {
		t.Fatalf("a %T body for a switched protocol %v", resp.Body, upgrade)
	}
	l, e := make(chan string, 16), make(chan error, 1)
	go func() {
		r := bufio.NewReader(resp.Body)
		for {
			s, err := r.ReadString('\n')
			if err != nil {
				e <- err
				return
			}
			l <- strings.TrimSuffix(s, "\n")
		}
	}()
	t.Cleanup(func() { resp.Body.Close() })
	return l, e, resp.Body
}

func nextLine(t *testing.T, lines <-chan string, ended <-chan error, want string) {
	t.Helper()
	select {
	case s := <-lines:
		if s != want {
			t.Fatalf("read %q, want %q", s, want)
		}
	case err := <-ended:
		t.Fatalf("the stream ended before %q: %v", want, err)
	case <-time.After(10 * time.Second):
		t.Fatalf("%q never came", want)
	}
}

// A forwarded stream that has started — a streamed body, or a switched
// protocol's connection — is watched for as long as it is open: when its
// node goes silent (the fake clock moves past two missed heartbeats; the
// node's connection stays open and sends nothing), the stream's next read
// fails at the next look at the registry, saying so. A stream whose node
// keeps heartbeating goes on, and closing the streams ends their watchers.
func TestStreamsEndWhenTheirNodeGoesSilent(t *testing.T) {
	t.Cleanup(func() { noWatchers(t) }) // once every engine's streams are closed
	testdb.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		for _, upgrade := range []bool{false, true} {
			t.Run(map[bool]string{false: "body", true: "upgrade"}[upgrade], func(t *testing.T) {
				streamsEndWhenTheirNodeGoesSilent(t, st, upgrade)
			})
		}
	})
}

func streamsEndWhenTheirNodeGoesSilent(t *testing.T, st *store.Store, upgrade bool) {
	ctx := context.Background()
	clk := &lookClock{clock: &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}, looked: make(chan struct{})}
	a := cluster.New(st, cluster.Options{NodeID: "a", Address: "http://a", Secret: []byte("s3cret"), TTL: 15 * time.Second,
		Now: clk.Now, CallTimeout: time.Hour, WatchEvery: 10 * time.Millisecond})
	register := func(id, addr string, heartbeat time.Time) {
		t.Helper()
		if err := st.RegisterNode(ctx, store.Node{ID: id, Address: addr, StartedAt: clk.Now(), HeartbeatAt: heartbeat,
			ExpiresAt: heartbeat.Add(15 * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	pausing, _ := streamingNode(t, upgrade)
	alive, more := streamingNode(t, upgrade)
	register("pausing", pausing, clk.Now())
	register("alive", alive, clk.Now())
	pLines, pEnded, _ := openStream(t, a, pausing, upgrade)
	aLines, aEnded, aBody := openStream(t, a, alive, upgrade)
	nextLine(t, pLines, pEnded, "first")
	nextLine(t, aLines, aEnded, "first")

	// The alive node heartbeats (ahead of the clock: it never looks
	// stale on the way); the pausing one does not, and the clock moves
	// past two missed heartbeats.
	register("alive", alive, clk.Now().Add(11*time.Second))
	clk.Advance(11 * time.Second)
	silent := time.Now()
	select {
	case s := <-pLines:
		t.Fatalf("read %q from a silent node", s)
	case err := <-pEnded:
		if !errors.Is(err, cluster.ErrNodeGone) || !strings.Contains(err.Error(), "node pausing is silent") {
			t.Fatalf("the stream from a silent node ended with %v", err)
		}
		t.Logf("the stream ended %v after its node went silent: %v", time.Since(silent), err)
	case <-time.After(10 * time.Second):
		t.Fatal("the stream from a silent node still open 10 s after it went silent")
	}

	// The pausing stream's watcher is done: the clock's next looks are
	// the alive stream's watcher judging its node.
	for range 3 {
		select {
		case <-clk.looked:
		case <-time.After(10 * time.Second):
			t.Fatal("the alive node's stream is not watched")
		}
	}
	more <- "more"
	nextLine(t, aLines, aEnded, "more")
	if upgrade { // the connection still carries both ways
		if _, err := aBody.(io.Writer).Write([]byte("ping\n")); err != nil {
			t.Fatalf("write to the alive node: %v", err)
		}
	}

	aBody.Close()
	if err := <-aEnded; errors.Is(err, cluster.ErrNodeGone) {
		t.Fatalf("a stream closed here ended as if its node were gone: %v", err)
	}
}

// noWatchers waits until no goroutine watches a call (closed streams'
// watchers return once their context ends).
func noWatchers(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	buf := make([]byte, 1<<20)
	for {
		stacks := string(buf[:runtime.Stack(buf, true)])
		n := strings.Count(stacks, "ecode/internal/cluster.(*Cluster).watch(")
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d watchers left after their streams closed:\n%s", n, stacks)
		}
		runtime.Gosched()
	}
}
