package deploy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"
)

// fastProxy forwards the common request to an app, a GET or HEAD without
// a body, over HTTP/1.1 on the handler's own goroutine: it writes the
// request and reads the response (net/http's parser) on a connection from
// its own pool of kept-alive ones. httputil.ReverseProxy with
// http.Transport does the same with a clone of the request and two
// goroutines per connection to hand each request and response over to;
// that costs more than the forwarding itself. Every other request
// (bodies, upgrades, HTTP/2 clients, odd targets) goes through the
// instance's ReverseProxy (fastOK). The headers sent and answered are the
// ReverseProxy's (router.go newProxy): X-Forwarded-*, hop-by-hop headers
// removed both ways, 1xx forwarded, trailers kept.
type fastProxy struct {
	dial          func(ctx context.Context) (net.Conn, error) // a *dialError when the app was not reached
	onError       func(w http.ResponseWriter, r *http.Request, err error)
	buffers       *buffers
	headerTimeout time.Duration // the longest wait for a response's header
	watchAfter    time.Duration // the raw path watches its client when the app's answer takes longer (rawwatch.go)
	idleTimeout   time.Duration // an idle connection older than this is closed, not reused
	maxIdle       int

	mu     sync.Mutex
	idle   []*upConn // most recently used last
	closed bool
}

// upConn is a connection to the app with its buffers.
type upConn struct {
	c     net.Conn
	br    *bufio.Reader // reads through limit
	bw    *bufio.Writer
	limit int64 // bytes the reader may still take (bounds a response's header)
	used  time.Time
	head  []byte      // the raw path's response head (rawresponse.go)
	res   rawResponse // parsed from head
	// the raw path's client, watched once a read waits past the
	// connection's first deadline (then deadline's)
	client   *rawConn
	deadline time.Time
}

// maxResponseHeader bounds a response's header, as http.Transport's
// default MaxResponseHeaderBytes does.
const maxResponseHeader = 1 << 20

func (u *upConn) Read(p []byte) (int, error) {
	if u.limit <= 0 {
		return 0, errors.New("the app's response header is too large")
	}
	if int64(len(p)) > u.limit {
		p = p[:u.limit]
	}
	n, err := u.c.Read(p)
	if n == 0 && u.client != nil && errors.Is(err, os.ErrDeadlineExceeded) { // the app takes a while
		rc := u.client
		u.client = nil
		u.c.SetReadDeadline(u.deadline)
		rc.watchClient(u.c)
		n, err = u.c.Read(p)
	}
	u.limit -= int64(n)
	return n, err
}

func newFastProxy(dial func(ctx context.Context) (net.Conn, error), onError func(http.ResponseWriter, *http.Request, error), b *buffers) *fastProxy {
	return &fastProxy{dial: dial, onError: onError, buffers: b, headerTimeout: 5 * time.Minute,
		watchAfter: 250 * time.Millisecond, idleTimeout: 90 * time.Second, maxIdle: 64}
}

// fastOK reports whether r can take the fast path.
func fastOK(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead || r.ProtoMajor != 1 ||
		r.ContentLength != 0 || len(r.TransferEncoding) > 0 || r.Body != nil && r.Body != http.NoBody ||
		r.Host == "" || r.URL.Opaque != "" || !cleanQuery(r.URL.RawQuery) || !asciiHost(r.Host) {
		return false
	}
	_, up := r.Header["Upgrade"]
	return !up && !httpguts.HeaderValuesContainsToken(r.Header["Connection"], "upgrade")
}

// cleanQuery reports whether ReverseProxy would send the query unchanged
// (it re-encodes one with a ';' or a bad escape).
func cleanQuery(q string) bool {
	for i := 0; i < len(q); i++ {
		switch q[i] {
		case ';':
			return false
		case '%':
			if i+2 >= len(q) || !isHex(q[i+1]) || !isHex(q[i+2]) {
				return false
			}
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// asciiHost reports whether the Host header is sent as it is (the
// Transport converts other names to punycode and drops IPv6 zones).
func asciiHost(h string) bool {
	for i := 0; i < len(h); i++ {
		if h[i] >= 0x80 || h[i] == '%' || h[i] < ' ' {
			return false
		}
	}
	return true
}

// ServeHTTP forwards r (fastOK) and copies the app's response to w.
func (p *fastProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	uc, reused, err := p.get(ctx)
	if err != nil {
		p.onError(w, r, err)
		return
	}
	stop := closeOnDone(ctx, uc.c)
	res, err := p.roundTrip(uc, r)
	if err != nil && reused && ctx.Err() == nil && errors.Is(err, errBeforeResponse) {
		// the app closed the idle connection: a GET or HEAD is sent again on a new one
		stop()
		uc.c.Close()
		if uc, err = p.dialConn(ctx); err != nil {
			p.onError(w, r, err)
			return
		}
		stop = closeOnDone(ctx, uc.c)
		res, err = p.roundTrip(uc, r)
	}
	if err != nil {
		stop()
		uc.c.Close()
		p.onError(w, r, err)
		return
	}
	p.respond(w, r, uc, res, stop)
}

// closeOnDone closes c when ctx ends (the client left: the app's answer
// is no longer awaited) until the returned stop is called; stop reports
// whether c is still open.
func closeOnDone(ctx context.Context, c net.Conn) (stop func() bool) {
	return context.AfterFunc(ctx, func() { c.Close() })
}

// errBeforeResponse matches a failure before the app sent any byte of a
// response (beforeResponse).
var errBeforeResponse = errors.New("no response")

type beforeResponse struct{ err error }

func (e *beforeResponse) Error() string        { return e.err.Error() }
func (e *beforeResponse) Unwrap() error        { return e.err }
func (e *beforeResponse) Is(target error) bool { return target == errBeforeResponse }

// roundTrip writes r on uc and reads the header of the app's first
// response (perhaps a 1xx one: respond reads on).
func (p *fastProxy) roundTrip(uc *upConn, r *http.Request) (*http.Response, error) {
	if err := writeRequest(uc.bw, r); err != nil {
		return nil, &beforeResponse{err}
	}
	uc.c.SetReadDeadline(time.Now().Add(p.headerTimeout))
	uc.limit = maxResponseHeader
	if _, err := uc.br.Peek(1); err != nil {
		return nil, &beforeResponse{err}
	}
	return http.ReadResponse(uc.br, r)
}

// hopHeaders are removed from requests and responses (besides the ones a
// Connection header names), as httputil.ReverseProxy does.
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// skipRequestHeader reports whether a header of the client's request is
// not sent to the app: hop-by-hop, named by Connection, replaced
// (X-Forwarded-*, Forwarded, Host) or framing (Content-Length).
func skipRequestHeader(k string, conn []string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer",
		"Transfer-Encoding", "Upgrade", "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto",
		"Host", "Content-Length":
		return true
	}
	return len(conn) > 0 && httpguts.HeaderValuesContainsToken(conn, k)
}

// writeRequest writes r's request line and headers as the ReverseProxy
// sends them (router.go newProxy) and flushes.
func writeRequest(bw *bufio.Writer, r *http.Request) error {
	bw.WriteString(r.Method)
	bw.WriteByte(' ')
	bw.WriteString(r.URL.RequestURI())
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(r.Host)
	bw.WriteString("\r\n")
	conn := r.Header["Connection"]
	for k, vs := range r.Header {
		if skipRequestHeader(k, conn) {
			continue
		}
		for _, v := range vs {
			writeHeader(bw, k, v)
		}
	}
	if httpguts.HeaderValuesContainsToken(r.Header["Te"], "trailers") {
		bw.WriteString("Te: trailers\r\n")
	}
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		writeHeader(bw, "X-Forwarded-For", ip)
	}
	writeHeader(bw, "X-Forwarded-Host", r.Host)
	if r.TLS == nil {
		bw.WriteString("X-Forwarded-Proto: http\r\n\r\n")
	} else {
		bw.WriteString("X-Forwarded-Proto: https\r\n\r\n")
	}
	return bw.Flush()
}

func writeHeader(bw *bufio.Writer, k, v string) {
	if strings.ContainsAny(v, "\r\n") { // the server never parses one, but never split a header
		v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
	}
	bw.WriteString(k)
	bw.WriteString(": ")
	bw.WriteString(v)
	bw.WriteString("\r\n")
}

// max1xx bounds the informational responses before the final one, as
// http.Transport does.
const max1xx = 5

// respond copies res (and the final response after 1xx ones) to w, then
// (stop: the client is still there) keeps uc for the next request when the app kept it alive and the body
// was read to its end, else closes it. A failure once the response began
// aborts the client's response (http.ErrAbortHandler), as ReverseProxy
// does.
func (p *fastProxy) respond(w http.ResponseWriter, r *http.Request, uc *upConn, res *http.Response, stop func() bool) {
	ok := false
	defer func() {
		if stop() && ok {
			p.put(uc)
		} else {
			uc.c.Close()
		}
	}()
	for n := 0; res.StatusCode < 200 && res.StatusCode != http.StatusSwitchingProtocols; n++ {
		if n == max1xx {
			p.onError(w, r, errors.New("too many 1xx informational responses"))
			return
		}
		h := w.Header()
		copyHeader(h, res.Header)
		w.WriteHeader(res.StatusCode)
		clear(h)
		var err error
		uc.limit = maxResponseHeader
		if res, err = http.ReadResponse(uc.br, r); err != nil {
			p.onError(w, r, err)
			return
		}
	}
	if res.StatusCode == http.StatusSwitchingProtocols { // not asked for
		p.onError(w, r, errors.New("the app switched protocols without an Upgrade request"))
		return
	}
	uc.c.SetReadDeadline(time.Time{})
	uc.limit = 1<<63 - 1
	removeHopHeaders(res.Header)
	h := w.Header()
	copyHeader(h, res.Header)
	announced := len(res.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range res.Trailer {
			keys = append(keys, k)
		}
		h.Add("Trailer", strings.Join(keys, ", "))
	}
	w.WriteHeader(res.StatusCode)
	if err := p.copyBody(w, res); err != nil {
		panic(http.ErrAbortHandler)
	}
	if len(res.Trailer) > 0 {
		http.NewResponseController(w).Flush() // chunked, so that the trailers can follow
		for k, vs := range res.Trailer {
			if len(res.Trailer) != announced {
				k = http.TrailerPrefix + k
			}
			for _, v := range vs {
				h.Add(k, v)
			}
		}
	}
	ok = !res.Close && uc.br.Buffered() == 0
}

// copyBody copies res's body to w to its end, flushing after every
// write when the response streams (server-sent events, or no length).
func (p *fastProxy) copyBody(w http.ResponseWriter, res *http.Response) error {
	if res.Body == http.NoBody {
		return nil
	}
	var f http.Flusher
	if res.ContentLength == -1 || isEventStream(res.Header.Get("Content-Type")) {
		f, _ = w.(http.Flusher)
	}
	buf := p.buffers.Get()
	defer p.buffers.Put(buf)
	for {
		n, rerr := res.Body.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return err
			}
			if f != nil {
				f.Flush()
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

func isEventStream(ct string) bool {
	if len(ct) < 17 || !strings.EqualFold(ct[:17], "text/event-stream") {
		return false
	}
	base, _, _ := mime.ParseMediaType(ct)
	return base == "text/event-stream"
}

// removeHopHeaders removes a response's hop-by-hop headers and the ones
// its Connection header names.
func removeHopHeaders(h http.Header) {
	for _, v := range h["Connection"] {
		for f := range strings.SplitSeq(v, ",") {
			if f = textproto.TrimString(f); f != "" {
				h.Del(f)
			}
		}
	}
	for _, k := range hopHeaders {
		delete(h, k)
	}
}

func copyHeader(dst, src http.Header) {
	for k, vs := range src {
		dst[k] = append(dst[k], vs...)
	}
}

// get returns a pooled connection (reused) or a new one.
func (p *fastProxy) get(ctx context.Context) (uc *upConn, reused bool, err error) {
	now := time.Now()
	p.mu.Lock()
	for len(p.idle) > 0 {
		uc = p.idle[len(p.idle)-1]
		p.idle[len(p.idle)-1] = nil
		p.idle = p.idle[:len(p.idle)-1]
		if now.Sub(uc.used) < p.idleTimeout {
			p.mu.Unlock()
			return uc, true, nil
		}
		uc.c.Close()
	}
	p.mu.Unlock()
	uc, err = p.dialConn(ctx)
	return uc, false, err
}

func (p *fastProxy) dialConn(ctx context.Context) (*upConn, error) {
	c, err := p.dial(ctx)
	if err != nil {
		return nil, err
	}
	uc := &upConn{c: c, bw: bufio.NewWriterSize(c, 4<<10)}
	uc.br = bufio.NewReaderSize(uc, 4<<10)
	return uc, nil
}

// put keeps uc for the next request (the pool full or closed: closes it).
func (p *fastProxy) put(uc *upConn) {
	uc.used = time.Now()
	p.mu.Lock()
	if p.closed || len(p.idle) >= p.maxIdle {
		p.mu.Unlock()
		uc.c.Close()
		return
	}
	p.idle = append(p.idle, uc)
	p.mu.Unlock()
}

// close closes the idle connections; ones in use are closed when their
// request ends.
func (p *fastProxy) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, uc := range idle {
		uc.c.Close()
	}
}
