package netlimit

import (
	"bytes"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// dialFrom opens a connection to addr from the loopback address src.
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedByServer reports whether the server closed c (reads EOF or a reset).
func closedByServer(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.Read(make([]byte, 1))
	return err == io.EOF || (err != nil && !isTimeout(err))
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func TestCaps(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(inner, 3, 2)
	defer l.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	addr := inner.Addr().String()
	dialFrom(t, "127.0.0.2", addr)
	dialFrom(t, "127.0.0.2", addr)
	held := []net.Conn{<-accepted, <-accepted}
	over := dialFrom(t, "127.0.0.2", addr) // a third from the same address
	if !closedByServer(over) {
		t.Fatal("third connection from one address was kept")
	}
	dialFrom(t, "127.0.0.3", addr)
	held = append(held, <-accepted)
	b2 := dialFrom(t, "127.0.0.4", addr) // over the total
	if !closedByServer(b2) {
		t.Fatal("connection over the total was kept")
	}
	if l.Refused() != 2 || l.Open() != 3 {
		t.Fatalf("refused %d, open %d; want 2, 3", l.Refused(), l.Open())
	}
	held[0].Close()
	held[0].Close() // a second Close releases nothing more
	if l.Open() != 2 {
		t.Fatalf("open after close: %d", l.Open())
	}
	dialFrom(t, "127.0.0.2", addr)
	<-accepted
}

func TestAddrKey(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"[2001:db8::1]:1", "[2001:db8::ffff]:2"},
		{"127.0.0.1:1", "[::ffff:127.0.0.1]:2"},
	} {
		ka, _ := net.ResolveTCPAddr("tcp", tc.a)
		kb, _ := net.ResolveTCPAddr("tcp", tc.b)
		if AddrKey(ka) != AddrKey(kb) {
			t.Errorf("%s and %s counted apart: %v %v", tc.a, tc.b, AddrKey(ka), AddrKey(kb))
		}
	}
	x, _ := net.ResolveTCPAddr("tcp", "10.0.0.1:1")
	y, _ := net.ResolveTCPAddr("tcp", "10.0.0.2:1")
	if AddrKey(x) == AddrKey(y) {
		t.Error("two IPv4 addresses counted together")
	}
}

// TestReadFromKeepsSendfile: an accepted connection is an io.ReaderFrom
// (net/http sends files with it, through sendfile) and what it copies in
// arrives whole.
func TestReadFromKeepsSendfile(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(inner, 3, 2)
	defer l.Close()
	client := dialFrom(t, "127.0.0.1", l.Addr().String())
	sc, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	rf, ok := sc.(io.ReaderFrom)
	if !ok {
		t.Fatal("accepted connection is not an io.ReaderFrom: files would be copied through a buffer, not sent with sendfile")
	}
	f, err := os.CreateTemp(t.TempDir(), "body")
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Repeat([]byte("sendfile "), 10_000)
	f.Write(want)
	f.Seek(0, 0)
	done := make(chan []byte)
	go func() { b, _ := io.ReadAll(client); done <- b }()
	if n, err := rf.ReadFrom(f); err != nil || n != int64(len(want)) {
		t.Fatalf("ReadFrom: %d, %v", n, err)
	}
	f.Close()
	sc.Close()
	if got := <-done; !bytes.Equal(got, want) {
		t.Fatalf("received %d bytes, want %d", len(got), len(want))
	}
}
