package deploy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestRawListenerHandOff: connections the raw path does not serve reach
// net/http's server with every byte the client sent (a request read in
// pieces, a pipelined second one), and a client that sends nothing holds
// up no one else's connection.
func TestRawListenerHandOff(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Service{}
	rl := s.RawListener(ln, RawFront{Plain: func(string) bool { return false }}, RawOptions{HeaderTimeout: time.Minute, IdleTimeout: time.Minute})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, r.Method+" "+r.URL.Path+" "+string(b))
	})}
	go srv.Serve(rl)
	t.Cleanup(func() { srv.Close() })

	silent, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	io.WriteString(c, "GET /one HTTP/1.1\r\nHo")
	io.WriteString(c, "st: a\r\n\r\nPOST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc")
	for _, want := range []string{"GET /one ", "POST /two abc"} {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		if string(b) != want {
			t.Fatalf("answered %q, want %q", b, want)
		}
	}
	if !strings.HasPrefix(rl.Addr().String(), "127.0.0.1:") {
		t.Fatalf("Addr %v", rl.Addr())
	}
}

// noHalfClose hides the connections' CloseWrite, as the server's
// connection limiter (package netlimit) does.
type noHalfClose struct{ net.Listener }

func (l noHalfClose) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return struct{ net.Conn }{c}, nil
}

// TestHandOffUpgradeEndsWithBackend: an upgraded connection handed to
// net/http and relayed by httputil.ReverseProxy (a WebSocket forwarded to
// another node) ends for the client when the other side goes away; it
// stayed open when the handed-off connection claimed a half-close it could
// not do.
func TestHandOffUpgradeEndsWithBackend(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\nhello")
		brw.Flush()
		c.Close() // the node died
	}))
	defer backend.Close()
	target, _ := url.Parse(backend.URL)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Service{}
	rl := s.RawListener(noHalfClose{ln}, RawFront{Plain: func(string) bool { return false }}, RawOptions{HeaderTimeout: time.Minute, IdleTimeout: time.Minute})
	srv := &http.Server{Handler: httputil.NewSingleHostReverseProxy(target)}
	go srv.Serve(rl)
	t.Cleanup(func() { srv.Close() })

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n")
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", res, err)
	}
	rest, err := io.ReadAll(br) // until the relay closes: EOF, not the deadline
	if err != nil || string(rest) != "hello" {
		t.Fatalf("after the other side closed the client read %q, %v; want hello and the end", rest, err)
	}
}
