package deploy

import (
	"bufio"
	"io"
	"maps"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// spyListener reports the one-byte reads of the router's side of its
// connections, which only the watch makes (the raw path's own reads fill
// a buffer): "" when one starts, what it read when it returns bytes.
type spyListener struct {
	net.Listener
	reads chan string
}

func (l spyListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &spyConn{Conn: c, reads: l.reads}, nil
}

type spyConn struct {
	net.Conn
	reads chan string
}

func (c *spyConn) Read(p []byte) (int, error) {
	if len(p) == 1 {
		c.reads <- ""
	}
	n, err := c.Conn.Read(p)
	if len(p) == 1 && n > 0 {
		c.reads <- string(p[:n])
	}
	return n, err
}

func spied(reads chan string) func(net.Listener) net.Listener {
	return func(ln net.Listener) net.Listener { return spyListener{ln, reads} }
}

// within fails t unless ch yields within the bound (a failure, not a wait
// for something expected to take that long).
func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: not within 10 s", what)
		panic("unreachable")
	}
}

// appEnd is what the app sees of its connection after it took a held
// request: the end (EOF), or bytes.
func appEnd(c net.Conn) string {
	b, err := io.ReadAll(c)
	if err != nil {
		return "error " + err.Error()
	}
	if len(b) > 0 {
		return "bytes " + string(b)
	}
	return "EOF"
}

// TestRawClientGone: a client that leaves while its request waits for
// the app's head (a slow handler), or while the app's body sends nothing
// (a long poll), is noticed: the router closes its connection to the
// app, which sees its client leave; the connection is not kept for
// another request, the request is counted as net/http's path counts it
// (before a head: StatusClientClosed, no bytes, nothing written, no 5xx;
// after one: the app's status and the bytes sent), and the deployment
// serves the next request as ever. A malformed answer to a client that
// stays is still the app's failure: 502.
func TestRawClientGone(t *testing.T) {
	held := make(chan struct{}, 4)
	ended := make(chan string, 4) // what the app saw of its connection
	var slow atomic.Int32
	g := newRawRig(t, func(c net.Conn, r *http.Request) (string, bool) {
		switch r.URL.Path {
		case "/slow":
			slow.Add(1)
			held <- struct{}{}
			ended <- appEnd(c)
			return "", true
		case "/bad":
			return "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n", true
		case "/poll":
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"+
				"9\r\ndata: 1\n\n\r\n")
			held <- struct{}{}
			ended <- appEnd(c)
			return "", true
		}
		return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok", false
	})

	next := func() {
		t.Helper()
		res, body, _ := g.dial(t).roundTrip("GET", g.req("GET", "/next"))
		if res.StatusCode != 200 || body != "ok" {
			t.Fatalf("the next request: %d %q", res.StatusCode, body)
		}
		if s := within(t, g.served, "the next request's report"); s.status != 200 || s.path != "/next" {
			t.Fatalf("the next request served as %+v", s)
		}
	}
	noneKept := func() {
		t.Helper()
		g.p.mu.Lock()
		defer g.p.mu.Unlock()
		if len(g.p.idle) != 0 {
			t.Fatalf("%d connections to the app kept after the client left", len(g.p.idle))
		}
	}

	// before the head, on a connection to the app from the pool (not
	// sent again on a new one when the watch closed it): the client
	// closes
	next()
	c := g.dial(t)
	io.WriteString(c.c, g.req("GET", "/slow"))
	within(t, held, "the app's request")
	c.c.Close()
	if e := within(t, ended, "the app seeing its client leave"); e != "EOF" {
		t.Fatalf("the app's connection: %s", e)
	}
	if s := within(t, g.served, "the report"); s.status != StatusClientClosed || s.bytes != 0 || s.path != "/slow" {
		t.Fatalf("served as %+v, want net/http's path's 499", s)
	}
	noneKept()
	next()
	classes(t, g.s, "p", map[string]int64{"2xx": 2, "4xx": 1})

	// before the head: the client ends its side (a half-close), and
	// reads what the router answers (nothing) up to the end
	c = g.dial(t)
	io.WriteString(c.c, g.req("GET", "/slow"))
	within(t, held, "the app's request")
	c.c.(*net.TCPConn).CloseWrite()
	if e := within(t, ended, "the app seeing its client leave"); e != "EOF" {
		t.Fatalf("the app's connection: %s", e)
	}
	if !c.closed() || c.raw.Len() != 0 {
		t.Fatalf("after the half-close, the client read %q", c.raw.String())
	}
	if s := within(t, g.served, "the report"); s.status != StatusClientClosed || s.bytes != 0 {
		t.Fatalf("served as %+v after the half-close", s)
	}
	noneKept()
	classes(t, g.s, "p", map[string]int64{"2xx": 2, "4xx": 2})

	// the control: an app that answers malformed to a client that stays
	// failed, and a 502 it is
	res, _, _ := g.dial(t).roundTrip("GET", g.req("GET", "/bad"))
	if s := within(t, g.served, "the report"); res.StatusCode != http.StatusBadGateway || s.status != http.StatusBadGateway {
		t.Fatalf("a malformed answer: %d, served as %+v", res.StatusCode, s)
	}
	classes(t, g.s, "p", map[string]int64{"2xx": 2, "4xx": 2, "5xx": 1})

	// a body that sends nothing: the client read the first event and
	// closes
	c = g.dial(t)
	io.WriteString(c.c, g.req("GET", "/poll"))
	within(t, held, "the app's request")
	res, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(res.Body).ReadString('\n'); err != nil || line != "data: 1\n" {
		t.Fatalf("the first event: %q %v", line, err)
	}
	c.c.Close()
	if e := within(t, ended, "the app seeing its client leave"); e != "EOF" {
		t.Fatalf("the app's connection: %s", e)
	}
	if s := within(t, g.served, "the report"); s.status != 200 || s.bytes != 9 || !s.streamed {
		t.Fatalf("the poll served as %+v", s)
	}
	noneKept()
	next()
	classes(t, g.s, "p", map[string]int64{"2xx": 4, "4xx": 2, "5xx": 1})
	if n := slow.Load(); n != 2 {
		t.Fatalf("the app was sent /slow %d times, want 2 (once for each client)", n)
	}
}

// classes fails t unless the deployment's meter counted want by status
// class (the Deployments pane's figures).
func classes(t *testing.T, s *Service, projectID string, want map[string]int64) {
	t.Helper()
	if got := s.Counts(projectID).Classes; !maps.Equal(got, want) {
		t.Fatalf("status classes %v, want %v", got, want)
	}
}

// TestRawWatchPipelined: requests pipelined behind a slow one, sent with
// it or while the client is watched (the watch reads their first byte),
// are all answered, in order.
func TestRawWatchPipelined(t *testing.T) {
	reads := make(chan string, 16)
	release := make(chan struct{})
	held := make(chan struct{}, 1)
	g := newRawRigWith(t, rawRigOpts{wrap: spied(reads)}, func(_ net.Conn, r *http.Request) (string, bool) {
		if r.URL.Path == "/slow" {
			held <- struct{}{}
			<-release
		}
		return "HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(r.URL.Path)) + "\r\nContent-Type: text/plain\r\n\r\n" + r.URL.Path, false
	})
	c := g.dial(t)
	io.WriteString(c.c, g.req("GET", "/slow")+g.req("GET", "/a"))
	within(t, held, "the app's request")
	io.WriteString(c.c, g.req("GET", "/b")+g.req("HEAD", "/c"))
	for r := ""; r != "G"; {
		r = within(t, reads, "the watch reading the next request")
	}
	close(release)
	for _, want := range []string{"/slow", "/a", "/b", "/c"} {
		method := "GET"
		if want == "/c" {
			method = "HEAD"
		}
		res, body, _ := c.read(method)
		if method == "HEAD" {
			body = want
		}
		if res.StatusCode != 200 || body != want {
			t.Fatalf("want %s: %d %q", want, res.StatusCode, body)
		}
		if s := within(t, g.served, "a report"); s.path != want || s.status != 200 {
			t.Fatalf("want %s served, got %+v", want, s)
		}
	}
	c.roundTrip("GET", g.req("GET", "/after"))
}

// TestRawWatchSlowAnswer: a slow answer to a client that stays is
// delivered whole (its head, and its body in pieces), and the connection
// to the app is kept for the next request.
func TestRawWatchSlowAnswer(t *testing.T) {
	reads := make(chan string, 16)
	step := make(chan struct{})
	g := newRawRigWith(t, rawRigOpts{wrap: spied(reads)}, func(c net.Conn, r *http.Request) (string, bool) {
		if r.URL.Path != "/slow" {
			return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok", false
		}
		<-step
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n3\r\none\r\n")
		<-step
		return "3\r\ntwo\r\n0\r\nX-Sum: 6\r\n\r\n", false
	})
	c := g.dial(t)
	io.WriteString(c.c, g.req("GET", "/slow"))
	if r := within(t, reads, "the watch"); r != "" {
		t.Fatalf("the watch read %q", r)
	}
	step <- struct{}{}
	res, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	step <- struct{}{}
	body, err := io.ReadAll(res.Body)
	if err != nil || string(body) != "onetwo" || res.Trailer.Get("X-Sum") != "6" || res.Close {
		t.Fatalf("the slow answer: %q %v, trailer %v, close %v", body, err, res.Trailer, res.Close)
	}
	if s := within(t, g.served, "the report"); s.status != 200 || s.bytes != 6 {
		t.Fatalf("served as %+v", s)
	}
	within(t, g.appConn, "the app's connection")
	if res, body, _ := c.roundTrip("GET", g.req("GET", "/next")); res.StatusCode != 200 || body != "ok" {
		t.Fatalf("the next request: %d %q", res.StatusCode, body)
	}
	select {
	case <-g.appConn:
		t.Fatal("the next request took a new connection to the app: the slow one's was not kept")
	default:
	}
}
