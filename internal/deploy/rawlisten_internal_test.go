package deploy

import (
	"bufio"
	"io"
	"net"
	"net/http"
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
