package deploy

import (
	"bufio"
	"context"
	"ecode/internal/countwriter"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync/atomic"
	"testing"
)

// fastRig is an app (up) behind a fastProxy served by front, as the
// router serves it (countwriter.Writer, an error page from onError).
type fastRig struct {
	up      *httptest.Server
	front   *httptest.Server
	p       *fastProxy
	accepts atomic.Int32            // connections the app accepted
	errs    chan error              // what reached onError
	served  chan countwriter.Writer // each request's status and bytes, as metered
}

func newFastRig(t *testing.T, app http.HandlerFunc) *fastRig {
	t.Helper()
	g := &fastRig{errs: make(chan error, 16), served: make(chan countwriter.Writer, 64)}
	g.up = httptest.NewUnstartedServer(app)
	g.up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			g.accepts.Add(1)
		}
	}
	g.up.Start()
	t.Cleanup(g.up.Close)
	addr := g.up.Listener.Addr().String()
	dial := func(ctx context.Context) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, &dialError{err}
		}
		return c, nil
	}
	onError := func(w http.ResponseWriter, _ *http.Request, err error) {
		g.errs <- err
		appPage(w, http.StatusBadGateway, "The app did not answer", "It may be restarting; try again in a moment.")
	}
	g.p = newFastProxy(dial, onError, &buffers{})
	t.Cleanup(g.p.close)
	g.front = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !fastOK(r) {
			t.Errorf("%s %s would not take the fast path", r.Method, r.URL)
		}
		cw := &countwriter.Writer{ResponseWriter: w}
		defer func() { g.served <- *cw }()
		g.p.ServeHTTP(cw, r)
	}))
	t.Cleanup(g.front.Close)
	return g
}

// noErrors fails t if a request went to the error path.
func (g *fastRig) noErrors(t *testing.T) {
	t.Helper()
	select {
	case err := <-g.errs:
		t.Errorf("error path taken: %v", err)
	default:
	}
}

// raw sends one request written by hand on c and reads the answer.
func raw(t *testing.T, c net.Conn, br *bufio.Reader, req string) (*http.Response, string) {
	t.Helper()
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(br, &http.Request{Method: strings.Fields(req)[0]})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

func TestFastProxyHeaders(t *testing.T) {
	got := make(chan *http.Request, 1)
	g := newFastRig(t, func(w http.ResponseWriter, r *http.Request) {
		got <- r
		w.Header().Set("Connection", "X-Secret")
		w.Header().Set("X-Secret", "hop")
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("Proxy-Authenticate", "Basic")
		w.Header().Set("X-App", "yes")
		w.Header().Set("Trailer", "X-Sum")
		io.WriteString(w, "hello")
		w.Header().Set("X-Sum", "5")
	})
	c, err := net.Dial("tcp", g.front.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	res, body := raw(t, c, bufio.NewReader(c), "GET /a/b?x=1&y=%20 HTTP/1.1\r\nHost: shop.apps.example\r\n"+
		"Connection: keep-alive, X-Drop\r\nX-Drop: 1\r\nKeep-Alive: 300\r\nTe: trailers, deflate\r\n"+
		"Proxy-Authorization: Basic eA==\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Host: evil\r\nX-Forwarded-Proto: https\r\n"+
		"Forwarded: for=6.6.6.6\r\nX-Keep: kept\r\nUser-Agent: tester\r\n\r\n")
	r := <-got
	if r.Host != "shop.apps.example" || r.RequestURI != "/a/b?x=1&y=%20" || r.Proto != "HTTP/1.1" {
		t.Errorf("app got host %q, target %q, %s", r.Host, r.RequestURI, r.Proto)
	}
	want := map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Host": "shop.apps.example", "X-Forwarded-Proto": "http",
		"Te": "trailers", "X-Keep": "kept", "User-Agent": "tester"}
	for k, v := range want {
		if vs := r.Header.Values(k); len(vs) != 1 || vs[0] != v {
			t.Errorf("app got %s %q, want %q", k, vs, v)
		}
	}
	for _, k := range []string{"Connection", "X-Drop", "Keep-Alive", "Proxy-Authorization", "Forwarded", "Accept-Encoding"} {
		if v, ok := r.Header[k]; ok {
			t.Errorf("app got %s %q", k, v)
		}
	}
	if res.StatusCode != 200 || body != "hello" || res.Header.Get("X-App") != "yes" || res.Trailer.Get("X-Sum") != "5" {
		t.Errorf("client got %d %q, X-App %q, trailer %v", res.StatusCode, body, res.Header.Get("X-App"), res.Trailer)
	}
	for _, k := range []string{"X-Secret", "Keep-Alive", "Proxy-Authenticate"} {
		if v, ok := res.Header[k]; ok {
			t.Errorf("client got %s %q", k, v)
		}
	}
	if cw := <-g.served; cw.Status != 200 || cw.Bytes != 5 {
		t.Errorf("metered %d, %d bytes; want 200, 5", cw.Status, cw.Bytes)
	}
}

// TestFastProxyStreams: a streamed response reaches the client as the
// app writes it, before the app finishes.
func TestFastProxyStreams(t *testing.T) {
	for _, ct := range []string{"text/event-stream", "text/plain"} { // chunked: no length
		t.Run(ct, func(t *testing.T) {
			next := make(chan struct{})
			g := newFastRig(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", ct)
				io.WriteString(w, "data: 1\n\n")
				w.(http.Flusher).Flush()
				<-next
				io.WriteString(w, "data: 2\n\n")
			})
			res, err := http.Get(g.front.URL + "/events")
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			br := bufio.NewReader(res.Body)
			if line, err := br.ReadString('\n'); err != nil || line != "data: 1\n" {
				t.Fatalf("first event %q, %v", line, err)
			}
			close(next) // the app finishes only once the client saw the first event
			rest, err := io.ReadAll(br)
			if err != nil || string(rest) != "\ndata: 2\n\n" {
				t.Fatalf("rest %q, %v", rest, err)
			}
			if len(res.TransferEncoding) != 1 || res.TransferEncoding[0] != "chunked" {
				t.Errorf("transfer encoding %v", res.TransferEncoding)
			}
		})
	}
}

func TestFastProxyHeadAndReuse(t *testing.T) {
	g := newFastRig(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/close" {
			w.Header().Set("Connection", "close")
		}
		io.WriteString(w, "hello")
	})
	c, err := net.Dial("tcp", g.front.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	res, body := raw(t, c, br, "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n")
	if res.StatusCode != 200 || body != "" || res.ContentLength != 5 {
		t.Errorf("HEAD: %d, %q, length %d", res.StatusCode, body, res.ContentLength)
	}
	for range 5 { // the HEAD left no body behind on either connection
		if res, body := raw(t, c, br, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"); res.StatusCode != 200 || body != "hello" {
			t.Fatalf("GET: %d, %q", res.StatusCode, body)
		}
	}
	if n := g.accepts.Load(); n != 1 {
		t.Errorf("the app accepted %d connections for 6 requests in a row, want 1", n)
	}
	for range 6 {
		<-g.served
	}
	// the app closes the connection after this one; its handler returned once served says so
	raw(t, c, br, "GET /close HTTP/1.1\r\nHost: a\r\n\r\n")
	<-g.served
	g.p.mu.Lock()
	pooled := len(g.p.idle)
	g.p.mu.Unlock()
	if pooled != 0 {
		t.Errorf("%d connections pooled after the app said Connection: close", pooled)
	}
	raw(t, c, br, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if n := g.accepts.Load(); n != 2 {
		t.Errorf("the app accepted %d connections, want 2 (one after it closed the first)", n)
	}
	g.noErrors(t)
}

// TestFastProxyIdleClosed: a pooled connection the app closed while idle
// is replaced without the client noticing.
func TestFastProxyIdleClosed(t *testing.T) {
	g := newFastRig(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") })
	get := func() {
		t.Helper()
		res, err := http.Get(g.front.URL)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || string(b) != "hello" {
			t.Fatalf("%d %q", res.StatusCode, b)
		}
	}
	get()
	g.up.CloseClientConnections() // the pooled connection is now closed by the app
	get()
	if n := g.accepts.Load(); n != 2 {
		t.Errorf("the app accepted %d connections, want 2", n)
	}
	g.noErrors(t)
}

func TestFastProxyAppDown(t *testing.T) {
	g := newFastRig(t, func(w http.ResponseWriter, r *http.Request) {})
	g.up.Close()
	res, err := http.Get(g.front.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadGateway {
		t.Errorf("status %d, want 502", res.StatusCode)
	}
	if err := <-g.errs; !errors.As(err, new(*dialError)) {
		t.Errorf("error %v is not a dial error (retried elsewhere by proxyError)", err)
	}
	if cw := <-g.served; cw.Status != http.StatusBadGateway {
		t.Errorf("metered %d", cw.Status)
	}
}

// TestFastProxyNoAnswer: a new connection the app closes without
// answering goes to the error path once (not retried: it was not idle).
func TestFastProxyNoAnswer(t *testing.T) {
	g := newFastRig(t, func(w http.ResponseWriter, r *http.Request) {
		c, _, _ := http.NewResponseController(w).Hijack()
		c.Close()
	})
	res, err := http.Get(g.front.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadGateway || g.accepts.Load() != 1 {
		t.Errorf("status %d after %d connections, want 502 after 1", res.StatusCode, g.accepts.Load())
	}
	if err := <-g.errs; !errors.Is(err, io.EOF) {
		t.Errorf("error %v", err)
	}
}

func TestFastProxyEarlyHints(t *testing.T) {
	g := newFastRig(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</app.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		io.WriteString(w, "hello")
	})
	var hints []int
	req, _ := http.NewRequest("GET", g.front.URL, nil)
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			if h.Get("Link") != "" {
				hints = append(hints, code)
			}
			return nil
		},
	}))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if len(hints) != 1 || hints[0] != 103 || res.StatusCode != 200 || res.Header.Get("Link") != "" {
		t.Errorf("hints %v, final %d with Link %q", hints, res.StatusCode, res.Header.Get("Link"))
	}
	if cw := <-g.served; cw.Status != 200 {
		t.Errorf("metered %d, want 200", cw.Status)
	}
}

func TestFastOK(t *testing.T) {
	get := func(edit func(r *http.Request)) *http.Request {
		r := httptest.NewRequest("GET", "http://a.apps.example/x?y=1", nil)
		if edit != nil {
			edit(r)
		}
		return r
	}
	for name, c := range map[string]struct {
		r    *http.Request
		want bool
	}{
		"GET":               {get(nil), true},
		"HEAD":              {get(func(r *http.Request) { r.Method = "HEAD" }), true},
		"POST":              {get(func(r *http.Request) { r.Method = "POST" }), false},
		"GET with a body":   {httptest.NewRequest("GET", "http://a.apps.example/", strings.NewReader("x")), false},
		"chunked GET":       {get(func(r *http.Request) { r.TransferEncoding = []string{"chunked"}; r.ContentLength = -1 }), false},
		"WebSocket":         {get(func(r *http.Request) { r.Header.Set("Connection", "Upgrade"); r.Header.Set("Upgrade", "websocket") }), false},
		"connection token":  {get(func(r *http.Request) { r.Header.Set("Connection", "keep-alive, upgrade") }), false},
		"HTTP/2":            {get(func(r *http.Request) { r.ProtoMajor, r.ProtoMinor = 2, 0 }), false},
		"semicolon query":   {get(func(r *http.Request) { r.URL.RawQuery = "a=1;b=2" }), false},
		"bad escape":        {get(func(r *http.Request) { r.URL.RawQuery = "a=%zz" }), false},
		"non-ASCII host":    {get(func(r *http.Request) { r.Host = "bücher.example" }), false},
		"keep-alive header": {get(func(r *http.Request) { r.Header.Set("Connection", "keep-alive") }), true},
	} {
		if got := fastOK(c.r); got != c.want {
			t.Errorf("%s: fastOK %v, want %v", name, got, c.want)
		}
	}
}
