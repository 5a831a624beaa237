package deploy

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawRig is a deployment served on the raw path whose app (a listener of
// the test's) answers each request with what script returns, byte for
// byte: close ends the app's connection after it.
type rawRig struct {
	s       *Service
	p       *fastProxy // the instance's pool of connections to the app
	addr    string     // the router's listener
	host    string
	served  chan rawServed
	appConn chan net.Conn // each connection the app accepted
}

// rawServed is what the raw path reported of a request (RawFront.Served).
type rawServed struct {
	path     string
	status   int
	bytes    int64
	streamed bool
}

// rawRigOpts change the rig: watchNow watches the client from the start
// of each request (the app's connection's first deadline is when the
// request was sent); wrap wraps the router's listener.
type rawRigOpts struct {
	watchNow bool
	wrap     func(net.Listener) net.Listener
}

func newRawRig(t *testing.T, script func(c net.Conn, r *http.Request) (answer string, close bool)) *rawRig {
	t.Helper()
	return newRawRigWith(t, rawRigOpts{}, script)
}

func newRawRigWith(t *testing.T, o rawRigOpts, script func(c net.Conn, r *http.Request) (answer string, close bool)) *rawRig {
	t.Helper()
	g := &rawRig{served: make(chan rawServed, 64), appConn: make(chan net.Conn, 64), host: "app.apps.test"}
	app := serveTestApp(t, func(c net.Conn) { g.appConn <- c }, func(c net.Conn, r *http.Request) bool {
		answer, close := script(c, r)
		_, err := io.WriteString(c, answer)
		return err == nil && !close
	})
	g.s = New(Deps{}, Options{AppsDomain: "apps.test"})
	t.Cleanup(g.s.cancel)
	dial := func(ctx context.Context) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", app.Addr().String())
		if err != nil {
			return nil, &dialError{err}
		}
		return c, nil
	}
	inst := &instance{s: g.s, fast: newFastProxy(dial, nil, &g.s.buffers)}
	if o.watchNow {
		inst.fast.watchAfter = 0
	}
	g.p = inst.fast
	inst.rel.ProjectID = "p"
	t.Cleanup(inst.fast.close)
	g.s.deps["p"] = &deployment{projectID: "p", slug: "app", active: inst}
	g.s.bySlug["app"] = "p"

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g.addr = ln.Addr().String()
	if o.wrap != nil {
		ln = o.wrap(ln)
	}
	front := RawFront{NewID: func() string { return "rid" }, Served: func(_, _, path string, status int, bytes int64, _ time.Duration, streamed bool) {
		g.served <- rawServed{path, status, bytes, streamed}
	}}
	rl := g.s.RawListener(ln, front, RawOptions{HeaderTimeout: time.Minute, IdleTimeout: time.Minute})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("net/http served %s %s", r.Method, r.URL)
		http.Error(w, "not raw", http.StatusTeapot)
	})}
	go srv.Serve(rl)
	t.Cleanup(func() { srv.Close() })
	return g
}

// rawRigClient is a client connection to the rig's router; raw holds
// every byte it read.
type rawRigClient struct {
	t   *testing.T
	c   net.Conn
	br  *bufio.Reader
	raw bytes.Buffer
}

func (g *rawRig) dial(t *testing.T) *rawRigClient {
	t.Helper()
	c, err := net.Dial("tcp", g.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	rc := &rawRigClient{t: t, c: c}
	rc.br = bufio.NewReader(io.TeeReader(c, &rc.raw))
	return rc
}

func (g *rawRig) req(method, path string) string {
	return method + " " + path + " HTTP/1.1\r\nHost: " + g.host + "\r\n\r\n"
}

// roundTrip sends a request and reads the answer; head is its head as
// sent.
func (rc *rawRigClient) roundTrip(method, req string) (res *http.Response, body, head string) {
	rc.t.Helper()
	if _, err := io.WriteString(rc.c, req); err != nil {
		rc.t.Fatal(err)
	}
	return rc.read(method)
}

func (rc *rawRigClient) read(method string) (res *http.Response, body, head string) {
	rc.t.Helper()
	rc.raw.Reset()
	res, err := http.ReadResponse(rc.br, &http.Request{Method: method})
	if err != nil {
		rc.t.Fatal(err)
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		rc.t.Fatalf("body: %v", err)
	}
	head, _, _ = strings.Cut(rc.raw.String(), "\r\n\r\n")
	return res, string(b), head
}

func (rc *rawRigClient) closed() bool {
	_, err := rc.br.ReadByte()
	return err == io.EOF
}

// TestRawResponses: the raw path passes the app's responses on as the
// router did with net/http's parser (canonical names, hop-by-hop fields
// removed, a sniffed Content-Type, a Date, each framing, keep-alive), in
// the app's order of fields, and answers 502 to a response it is not
// sure of, never passing it on; the same with the client watched during
// every request (rawwatch.go).
func TestRawResponses(t *testing.T) {
	t.Run("fast", func(t *testing.T) { testRawResponses(t, rawRigOpts{}) })
	t.Run("watched", func(t *testing.T) { testRawResponses(t, rawRigOpts{watchNow: true}) })
}

func testRawResponses(t *testing.T, o rawRigOpts) {
	answers := map[string]string{
		"/order": "HTTP/1.1 200 OK\r\nX-B: 1\r\nx-a: 2\r\nContent-Length: 2\r\nX-B: 3\r\nConnection: X-Secret\r\nX-Secret: s\r\n" +
			"Keep-Alive: timeout=5\r\nContent-Type: text/plain\r\n\r\nhi",
		"/sniff":   "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n<html>hi</ht>",
		"/chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-sum\r\nContent-Type: text/plain\r\n\r\n3\r\none\r\n3\r\ntwo\r\n0\r\nx-sum: 6\r\n\r\n",
		"/head":    "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nContent-Type: text/plain\r\nDate: Sun, 06 Dec 2026 10:00:00 GMT\r\n\r\n",
		"/204":     "HTTP/1.1 204 No Content\r\n\r\n",
		"/304":     "HTTP/1.1 304 Not Modified\r\nEtag: \"e\"\r\n\r\n",
		"/hints":   "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Type: text/plain\r\n\r\nx",
		"/events":  "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 9\r\n\r\ndata: 1\n\n",
		"/dup":     "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\nContent-Type: text/plain\r\n\r\nx",
		"/eof":     "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end",
		// not passed on
		"/fold":     "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n",
		"/both":     "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"/lengths":  "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
		"/cr":       "HTTP/1.1 200 OK\r\nX: a\rSet-Cookie: b\r\nContent-Length: 0\r\n\r\n",
		"/gzip":     "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		"/long":     "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", maxResponseHeader) + "\r\nContent-Length: 0\r\n\r\n",
		"/switched": "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
	}
	g := newRawRigWith(t, o, func(_ net.Conn, r *http.Request) (string, bool) {
		a := answers[r.URL.Path]
		return a, r.URL.Path == "/eof"
	})
	c := g.dial(t)
	res, body, head := c.roundTrip("GET", g.req("GET", "/order"))
	want := "HTTP/1.1 200 OK\r\nX-Request-Id: rid\r\nX-B: 1\r\nX-A: 2\r\nContent-Length: 2\r\nX-B: 3\r\nContent-Type: text/plain\r\nDate: "
	if !strings.HasPrefix(head, want) || strings.Count(head, "\r\n") != 7 || body != "hi" || res.Close {
		t.Fatalf("/order: head %q body %q, want the head to start %q and end with the Date", head, body, want)
	}
	if res, body, _ = c.roundTrip("GET", g.req("GET", "/sniff")); res.Header.Get("Content-Type") != "text/html; charset=utf-8" || body != "<html>hi</ht>" {
		t.Fatalf("/sniff: %q %q", res.Header, body)
	}
	res, body, head = c.roundTrip("GET", g.req("GET", "/chunked"))
	if body != "onetwo" || res.Trailer.Get("X-Sum") != "6" || !strings.Contains(head, "\r\nTrailer: X-Sum") || len(res.TransferEncoding) != 1 {
		t.Fatalf("/chunked: %q trailer %q head %q", body, res.Trailer, head)
	}
	res, body, head = c.roundTrip("HEAD", g.req("HEAD", "/head"))
	if res.ContentLength != 10 || body != "" || strings.Count(head, "Date:") != 1 {
		t.Fatalf("HEAD: length %d body %q head %q", res.ContentLength, body, head)
	}
	for _, p := range []string{"/204", "/304"} {
		if res, body, head = c.roundTrip("GET", g.req("GET", p)); res.StatusCode != 204 && res.StatusCode != 304 || body != "" {
			t.Fatalf("%s: %d %q", p, res.StatusCode, body)
		}
	}
	if !strings.Contains(head, "Etag: \"e\"") {
		t.Fatalf("304: %q", head)
	}
	io.WriteString(c.c, g.req("GET", "/hints"))
	if res, _, head = c.read("GET"); res.StatusCode != 103 || !strings.Contains(head, "Link: </a.css>") {
		t.Fatalf("103: %d %q", res.StatusCode, head)
	}
	if res, body, _ = c.read("GET"); res.StatusCode != 200 || body != "x" {
		t.Fatalf("after 103: %d %q", res.StatusCode, body)
	}
	if _, body, head = c.roundTrip("GET", g.req("GET", "/dup")); body != "x" || strings.Count(head, "Content-Length") != 1 {
		t.Fatalf("/dup: %q", head)
	}
	for range 8 { // the requests above
		<-g.served
	}
	c.roundTrip("GET", g.req("GET", "/events"))
	if s := <-g.served; !s.streamed || s.path != "/events" || s.bytes != 9 || s.status != 200 {
		t.Fatalf("event stream served as %+v", s)
	}
	if res, body, _ = c.roundTrip("GET", g.req("GET", "/eof")); body != "until the end" || !res.Close || !c.closed() {
		t.Fatalf("/eof: %q close %v", body, res.Close)
	}

	for _, p := range []string{"/fold", "/both", "/lengths", "/cr", "/gzip", "/long", "/switched"} {
		c := g.dial(t)
		res, body, head := c.roundTrip("GET", g.req("GET", p))
		if res.StatusCode != http.StatusBadGateway || !strings.Contains(body, "The app did not answer") || strings.Contains(head, "Set-Cookie") {
			t.Errorf("%s: %d %q %q", p, res.StatusCode, head, body)
		}
	}
}

// BenchmarkRawPath: one client connection's GETs through the raw path to
// an app answering like Node (the router's CPU and allocations per
// request, with the test's client and app in the same process).
func BenchmarkRawPath(b *testing.B) {
	t := &testing.T{}
	answer := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: Sun, 06 Dec 2026 10:00:00 GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 5\r\n\r\nhello"
	g := newRawRig(t, func(net.Conn, *http.Request) (string, bool) { return answer, false })
	go func() {
		for range g.served {
		}
	}()
	c, err := net.Dial("tcp", g.addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := []byte(g.req("GET", "/"))
	br := bufio.NewReader(c)
	b.ReportAllocs()
	for b.Loop() {
		c.Write(req)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
	}
}
