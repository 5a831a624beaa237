package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
)

// The raw path serves the common request to a published app (a GET or
// HEAD without a body to a running server instance this node holds)
// without net/http's server: a listener (RawListener) reads each
// connection's request heads on the connection's own goroutine with a
// small strict parser (parseRawHead) and forwards the ones it is sure of
// on a pooled connection to the app (rawserve.go). Anything else, at the
// first request or a later one, goes with the bytes already read to
// net/http's server, which accepts the connection from the same listener
// and serves it from then on: IDE requests, other methods, bodies,
// upgrades, HTTP/1.0, static releases, apps asleep, suspended or run by
// another node, custom domains, E-Code's cookies, failures before the
// app answered (retries and error pages are the router's). A client that
// goes away while the app takes its time (past fastProxy.watchAfter) is
// noticed and the app's request aborted, as net/http's server and the
// proxy do (rawwatch.go).

// RawFront is what the HTTP handler's front does for every request, which
// the raw path does for the ones it serves (package api provides it).
type RawFront struct {
	// Plain reports whether a request for host may skip the front: an
	// app host that is not also a custom domain, with nothing (tracing)
	// that needs the request.
	Plain func(host string) bool
	// NewID returns a request id (X-Request-Id).
	NewID func() string
	// Served is called after each request the raw path served: the
	// access log line, request metrics and monitoring sample.
	Served func(id, method, path string, status int, bytes int64, d time.Duration, streamed bool)
}

// RawOptions are the HTTP server's limits the raw path keeps too.
type RawOptions struct {
	HeaderTimeout time.Duration // to read a request's head
	IdleTimeout   time.Duration // between requests on a kept-alive connection
}

// rawListener accepts from ln; the connections net/http serves come out
// of Accept.
type rawListener struct {
	ln    net.Listener
	s     *Service
	front RawFront
	opts  RawOptions

	once   sync.Once
	conns  chan net.Conn
	errs   chan error
	done   chan struct{}
	closed sync.Once

	mu   sync.Mutex
	idle map[*rawConn]struct{} // raw connections waiting for a request: closed by Close
}

// RawListener wraps ln (the main listener) so that app requests the raw
// path can serve skip net/http's server; give the result to
// http.Server.Serve.
func (s *Service) RawListener(ln net.Listener, front RawFront, opts RawOptions) net.Listener {
	return &rawListener{ln: ln, s: s, front: front, opts: opts, conns: make(chan net.Conn), errs: make(chan error),
		done: make(chan struct{}), idle: map[*rawConn]struct{}{}}
}

func (l *rawListener) Addr() net.Addr { return l.ln.Addr() }

// Accept returns the next connection for net/http.
func (l *rawListener) Accept() (net.Conn, error) {
	l.once.Do(func() { go l.acceptLoop() })
	select {
	case c := <-l.conns:
		return c, nil
	case err := <-l.errs:
		return nil, err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *rawListener) acceptLoop() {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			select {
			case l.errs <- err: // net/http backs off on a temporary error
			case <-l.done:
				return
			}
			if !isTemporary(err) {
				return
			}
			continue
		}
		go l.serveConn(c)
	}
}

// isTemporary is net/http's test for an accept error to retry (EMFILE).
func isTemporary(err error) bool {
	t, ok := err.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

// Close stops accepting and closes the raw connections waiting for their
// next request; ones serving a request close when it is done.
func (l *rawListener) Close() error {
	err := l.ln.Close()
	l.closed.Do(func() {
		close(l.done)
		l.mu.Lock()
		for rc := range l.idle {
			rc.c.SetReadDeadline(time.Now())
		}
		l.mu.Unlock()
	})
	return err
}

func (l *rawListener) isClosed() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// rawConn is a client connection on the raw path.
type rawConn struct {
	c   net.Conn
	br  *bufio.Reader // reads rc
	out []byte        // the response being built
	ip  string        // the client's address (X-Forwarded-For)

	// the watch for a client that goes away (rawwatch.go)
	watched chan struct{} // closed when the watch's read ended; nil: no watch
	peek    [1]byte       // what the watch read, when peeked
	peeked  bool
	mu      sync.Mutex
	up      net.Conn // the app's connection the watch closes
	gone    bool     // the client went away
}

// serveConn serves c's requests on the raw path until one is not for it
// (then net/http gets c) or c ends.
func (l *rawListener) serveConn(c net.Conn) {
	rc := &rawConn{c: c}
	rc.br = bufio.NewReaderSize(rc, maxRawHead)
	var h rawHead
	for first := true; ; first = false {
		if !first {
			// the deadline first: Close's, set once the connection is
			// known to be idle, replaces it
			c.SetReadDeadline(time.Now().Add(l.opts.IdleTimeout))
			l.setIdle(rc, true)
			if l.isClosed() {
				l.setIdle(rc, false)
				c.Close()
				return
			}
			_, err := rc.br.Peek(1)
			l.setIdle(rc, false)
			if err != nil {
				c.Close()
				return
			}
		}
		c.SetReadDeadline(time.Now().Add(l.opts.HeaderTimeout))
		head, err := readHead(rc.br)
		if err != nil {
			c.Close()
			return
		}
		if head == nil || !parseRawHead(head, &h) || l.front.Plain != nil && !l.front.Plain(string(h.host)) {
			l.handOff(rc)
			return
		}
		switch l.s.serveRaw(rc, &h, head, l.front) {
		case rawHandOff:
			l.handOff(rc)
			return
		case rawClose:
			c.Close()
			return
		}
	}
}

func (l *rawListener) setIdle(rc *rawConn, idle bool) {
	l.mu.Lock()
	if idle {
		l.idle[rc] = struct{}{}
	} else {
		delete(l.idle, rc)
	}
	l.mu.Unlock()
}

// readHead returns the buffered request head up to its blank line, still
// unread in br; nil when it does not fit in br (net/http reads it) or
// does not start like a request the raw path serves.
func readHead(br *bufio.Reader) ([]byte, error) {
	from := 0
	for {
		buf, _ := br.Peek(br.Buffered())
		if i := bytes.Index(buf[from:], crlfcrlf); i >= 0 {
			return buf[:from+i+4], nil
		}
		if len(buf) >= 5 && !bytes.HasPrefix(buf, []byte("GET ")) && !bytes.HasPrefix(buf, []byte("HEAD ")) {
			return nil, nil // another method: no need to wait for the whole head
		}
		if len(buf) == br.Size() {
			return nil, nil
		}
		from = max(0, len(buf)-3)
		if _, err := br.Peek(len(buf) + 1); err != nil {
			if len(buf) > 0 && err == io.EOF {
				return nil, nil // net/http answers a truncated request
			}
			return nil, err
		}
	}
}

// handOff gives c, with what was read of it, to net/http's server.
func (l *rawListener) handOff(rc *rawConn) {
	rc.c.SetReadDeadline(time.Time{})
	var c net.Conn = rc.c
	if n := rc.br.Buffered(); n > 0 || rc.peeked {
		b, _ := rc.br.Peek(n)
		b = bytes.Clone(b)
		if rc.peeked {
			b = append(b, rc.peek[0])
		}
		c = &replayConn{Conn: rc.c, buf: b}
	}
	select {
	case l.conns <- c:
	case <-l.done:
		rc.c.Close()
	}
}

// replayConn is a connection whose first bytes were already read (buf).
type replayConn struct {
	net.Conn
	buf []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.buf) > 0 {
		n := copy(p, c.buf)
		c.buf = c.buf[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// ReadFrom keeps sendfile for net/http's file responses.
func (c *replayConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

// SyscallConn gives the connection's descriptor, for writes (package
// wsock tries a WebSocket's frames without blocking on it). Reading it
// directly would skip buf.
func (c *replayConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}

// CloseWrite lets net/http close its side gracefully. A connection that
// cannot half-close says so: httputil.ReverseProxy, relaying an upgraded
// connection (a WebSocket), takes a nil answer for a half-close done and
// waits for the client to end its side, so a relay whose app or node went
// away would stay open.
func (c *replayConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}
