package deploy

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"ecode/internal/countwriter"
)

// proxyRig is a deployment served by the router on net/http's path (the
// fast proxy and the ReverseProxy, with the instance's proxyError), its
// app a listener of the test's that hands each request to script, behind
// a countwriter.Writer as the front's (its status is the access log's).
type proxyRig struct {
	s      *Service
	front  *httptest.Server
	host   string
	app    net.Listener
	served chan countwriter.Writer // the front's writer after each request
}

func newProxyRig(t *testing.T, script func(c net.Conn, r *http.Request)) *proxyRig {
	t.Helper()
	app := serveTestApp(t, nil, func(c net.Conn, r *http.Request) bool {
		io.Copy(io.Discard, r.Body)
		script(c, r)
		return true
	})
	g := &proxyRig{s: New(Deps{}, Options{AppsDomain: "apps.test", RetryWait: time.Millisecond}), host: "app.apps.test", app: app, served: make(chan countwriter.Writer, 16)}
	t.Cleanup(g.s.cancel)
	inst := &instance{s: g.s}
	inst.rel.ProjectID = "p"
	dial := func(ctx context.Context) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", app.Addr().String())
		if err != nil {
			return nil, &dialError{err}
		}
		return c, nil
	}
	inst.transport = &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) }}
	t.Cleanup(inst.transport.CloseIdleConnections)
	inst.rp = inst.newProxy()
	inst.fast = newFastProxy(dial, inst.proxyError, &g.s.buffers)
	t.Cleanup(inst.fast.close)
	g.s.deps["p"] = &deployment{projectID: "p", slug: "app", active: inst}
	g.s.bySlug["app"] = "p"
	router := g.s.Router()
	g.front = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &countwriter.Writer{ResponseWriter: w}
		defer func() { g.served <- *sw }()
		router.ServeHTTP(sw, r)
	}))
	t.Cleanup(g.front.Close)
	return g
}

// TestProxyClientGone: on net/http's path, a client that leaves while the
// app holds its request (the fast proxy's GET, the ReverseProxy's POST) is
// recorded as StatusClientClosed (the front's status, the deployment's
// meter: 4xx, no 5xx) and is written nothing, not the 502 page, even when
// it only ended its side and still reads; the app sees its client leave.
// An app that answers malformed, or is not listening, to a client that
// stays still failed: 502.
func TestProxyClientGone(t *testing.T) {
	held := make(chan string, 4)
	g := newProxyRig(t, func(c net.Conn, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			held <- r.Method
			io.Copy(io.Discard, c) // until the router closes it
		case "/bad":
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n")
			c.Close()
		default:
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok")
		}
	})
	for _, tc := range []struct {
		name, req string
		half      bool
	}{
		{"fast GET", "GET /slow HTTP/1.1\r\nHost: " + g.host + "\r\n\r\n", false},
		{"ReverseProxy POST", "POST /slow HTTP/1.1\r\nHost: " + g.host + "\r\nContent-Length: 2\r\n\r\nhi", false},
		{"fast GET, half-closed", "GET /slow HTTP/1.1\r\nHost: " + g.host + "\r\n\r\n", true},
		{"ReverseProxy POST, half-closed", "POST /slow HTTP/1.1\r\nHost: " + g.host + "\r\nContent-Length: 2\r\n\r\nhi", true},
	} {
		c, err := net.Dial("tcp", g.front.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(30 * time.Second))
		io.WriteString(c, tc.req)
		within(t, held, tc.name+": the app's request")
		if tc.half {
			c.(*net.TCPConn).CloseWrite()
			if b, err := io.ReadAll(c); err != nil || len(b) != 0 {
				t.Fatalf("%s: the client read %q %v", tc.name, b, err)
			}
		}
		c.Close()
		if sw := within(t, g.served, tc.name+": the report"); sw.Status != StatusClientClosed || sw.Bytes != 0 {
			t.Fatalf("%s: recorded %d, %d bytes; want 499", tc.name, sw.Status, sw.Bytes)
		}
	}
	classes(t, g.s, "p", map[string]int64{"4xx": 4})

	get := func(path string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", g.front.URL+path, nil)
		req.Host = g.host
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if sw := within(t, g.served, path+": the report"); sw.Status != res.StatusCode {
			t.Fatalf("%s: answered %d, recorded %d", path, res.StatusCode, sw.Status)
		}
		return res.StatusCode
	}
	if code := get("/ok"); code != 200 {
		t.Fatalf("after the clients left: %d", code)
	}
	if code := get("/bad"); code != http.StatusBadGateway {
		t.Fatalf("a malformed answer: %d, want 502", code)
	}
	// refused (the app closed /bad's connection: none is kept), and not
	// listening again within RetryWait
	g.app.Close()
	if code := get("/ok"); code != http.StatusBadGateway {
		t.Fatalf("an app not listening: %d, want 502", code)
	}
	classes(t, g.s, "p", map[string]int64{"2xx": 1, "4xx": 4, "5xx": 2})
}
