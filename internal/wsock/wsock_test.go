package wsock

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// serve starts a server whose handler accepts a socket and hands it to
// the test.
func serve(t *testing.T) (*httptest.Server, <-chan *Conn) {
	t.Helper()
	conns := make(chan *Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r)
		if err != nil {
			return
		}
		conns <- c
	}))
	t.Cleanup(srv.Close)
	return srv, conns
}

func dial(t *testing.T, srv *httptest.Server, conns <-chan *Conn) (*websocket.Conn, *Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cc, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	cc.SetReadLimit(64 << 20)
	t.Cleanup(func() { cc.CloseNow() })
	sc := <-conns
	t.Cleanup(func() { sc.Close(CloseNormal, "") })
	return cc, sc
}

// Messages both ways with another implementation (the client): binary,
// text, fragmented, empty, and sizes around each length form.
func TestMessagesBothWays(t *testing.T) {
	srv, conns := serve(t)
	cc, sc := dial(t, srv, conns)
	ctx := context.Background()
	for _, n := range []int{0, 1, 125, 126, 127, 65535, 65536, 300000} {
		msg := bytes.Repeat([]byte{byte(n)}, n)
		if err := cc.Write(ctx, websocket.MessageBinary, msg); err != nil {
			t.Fatal(err)
		}
		op, got, err := sc.Read()
		if err != nil || op != OpBinary || !bytes.Equal(got, msg) {
			t.Fatalf("size %d: read op %d, %d bytes, %v", n, op, len(got), err)
		}
		if err := sc.Write(msg); err != nil {
			t.Fatal(err)
		}
		typ, back, err := cc.Read(ctx)
		if err != nil || typ != websocket.MessageBinary || !bytes.Equal(back, msg) {
			t.Fatalf("size %d: client read %v, %d bytes, %v", n, typ, len(back), err)
		}
	}
	// a message in three frames, with a ping from the client in between
	w, err := cc.Writer(ctx, websocket.MessageBinary)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{"one ", "two ", "three"} {
		if _, err := w.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if op, got, err := sc.Read(); err != nil || op != OpBinary || string(got) != "one two three" {
		t.Fatalf("fragmented: %d %q %v", op, got, err)
	}
	if err := cc.Write(ctx, websocket.MessageText, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if op, got, err := sc.Read(); err != nil || op != OpText || string(got) != "hi" {
		t.Fatalf("text: %d %q %v", op, got, err)
	}
}

// Pings both ways are answered; Close's code and reason reach the client.
func TestPingAndClose(t *testing.T) {
	srv, conns := serve(t)
	cc, sc := dial(t, srv, conns)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	readErr := make(chan error, 1)
	go func() { // the server's reader answers the client's ping and notes pongs
		_, _, err := sc.Read()
		readErr <- err
	}()
	clientRead := make(chan error, 1)
	go func() { // the client's reader answers the server's ping
		_, _, err := cc.Read(ctx)
		clientRead <- err
	}()
	if err := cc.Ping(ctx); err != nil {
		t.Fatalf("client ping: %v", err)
	}
	if err := sc.Ping(ctx); err != nil {
		t.Fatalf("server ping: %v", err)
	}
	sc.Close(4403, "access revoked")
	err := <-clientRead
	if code := websocket.CloseStatus(err); code != 4403 {
		t.Fatalf("client saw %v, want 4403", err)
	}
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Reason != "access revoked" {
		t.Fatalf("reason: %v", err)
	}
	if err := <-readErr; err == nil {
		t.Fatal("the server's Read did not end")
	}
	if err := sc.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
}

// The client's close frame ends Read with its code, and is answered.
func TestPeerClose(t *testing.T) {
	srv, conns := serve(t)
	cc, sc := dial(t, srv, conns)
	done := make(chan error, 1)
	go func() { done <- cc.Close(websocket.StatusNormalClosure, "bye") }()
	_, _, err := sc.Read()
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != 1000 || ce.Reason != "bye" {
		t.Fatalf("read %v, want the client's close", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the client's close handshake: %v", err)
	}
	if _, _, err := sc.Read(); !errors.Is(err, ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
}

// A message over the read limit closes with 1009.
func TestReadLimit(t *testing.T) {
	srv, conns := serve(t)
	cc, sc := dial(t, srv, conns)
	sc.SetReadLimit(1000)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go cc.Write(ctx, websocket.MessageBinary, make([]byte, 1001))
	if _, _, err := sc.Read(); !errors.Is(err, ErrTooBig) {
		t.Fatalf("read %v, want ErrTooBig", err)
	}
	_, _, err := cc.Read(ctx)
	if code := websocket.CloseStatus(err); code != websocket.StatusMessageTooBig {
		t.Fatalf("client saw %v, want 1009", err)
	}
}

// rawClient speaks the protocol by hand, to send what a proper client never would.
func rawClient(t *testing.T, srv *httptest.Server, conns <-chan *Conn) (net.Conn, *bufio.Reader, *Conn) {
	t.Helper()
	nc, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	key := "dGhlIHNhbXBsZSBub25jZQ=="
	fmt.Fprintf(nc, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", key)
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("handshake answered %s %v", resp.Status, resp.Header)
	}
	sc := <-conns
	t.Cleanup(func() { sc.Close(CloseNormal, "") })
	return nc, br, sc
}

// readCloseCode reads server frames up to a close frame and returns its code.
func readCloseCode(t *testing.T, br *bufio.Reader) int {
	t.Helper()
	for {
		var h [2]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			t.Fatalf("no close frame: %v", err)
		}
		p := make([]byte, h[1]&0x7f)
		io.ReadFull(br, p)
		if h[0]&0x0f == opClose {
			return int(binary.BigEndian.Uint16(p))
		}
	}
}

// Frames that break the protocol close the connection with 1002.
func TestProtocolErrors(t *testing.T) {
	for name, frame := range map[string][]byte{
		"unmasked":             {0x82, 0x01, 'x'},
		"reserved bit":         {0xc2, 0x80, 0, 0, 0, 0},
		"unknown opcode":       {0x83, 0x80, 0, 0, 0, 0},
		"fragmented ping":      {0x09, 0x80, 0, 0, 0, 0},
		"continuation first":   {0x80, 0x80, 0, 0, 0, 0},
		"long form for 5":      {0x82, 0xfe, 0, 5, 0, 0, 0, 0},
		"long control":         {0x89, 0xfe, 0, 126, 0, 0, 0, 0},
		"one-byte close":       {0x88, 0x81, 0, 0, 0, 0, 3},
		"new message in frags": {0x02, 0x80, 0, 0, 0, 0, 0x82, 0x80, 0, 0, 0, 0},
	} {
		t.Run(name, func(t *testing.T) {
			srv, conns := serve(t)
			nc, br, sc := rawClient(t, srv, conns)
			nc.Write(frame)
			var pe *ProtocolError
			if _, _, err := sc.Read(); !errors.As(err, &pe) {
				t.Fatalf("read %v, want a protocol error", err)
			}
			if code := readCloseCode(t, br); code != CloseProtocol {
				t.Fatalf("closed with %d, want 1002", code)
			}
		})
	}
}

// Handshakes that are not accepted get their status, and a page of
// another site may not open the socket.
func TestHandshakeRefusals(t *testing.T) {
	srv, _ := serve(t)
	for _, c := range []struct {
		name   string
		method string
		header map[string]string
		want   int
	}{
		{"plain GET", "GET", map[string]string{}, 426},
		{"POST", "POST", map[string]string{"Sec-WebSocket-Version": "13"}, 405},
		{"version 8", "GET", map[string]string{"Sec-WebSocket-Version": "8"}, 400},
		{"short key", "GET", map[string]string{"Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "AAAA"}, 400},
		{"other origin", "GET", map[string]string{"Sec-WebSocket-Version": "13", "Origin": "http://evil.example"}, 403},
		{"origin with path", "GET", map[string]string{"Sec-WebSocket-Version": "13", "Origin": "http://HOST/x"}, 403},
	} {
		req, _ := http.NewRequest(c.method, srv.URL, nil)
		if c.name != "plain GET" {
			req.Header.Set("Upgrade", "websocket")
			req.Header.Set("Connection", "keep-alive, Upgrade")
			req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		}
		for k, v := range c.header {
			req.Header.Set(k, strings.ReplaceAll(v, "HOST", req.URL.Host))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s: %d, want %d", c.name, resp.StatusCode, c.want)
		}
	}
	// the same origin is accepted
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cc, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {srv.URL}}})
	if err != nil {
		t.Fatalf("same origin refused: %v", err)
	}
	cc.CloseNow()
}

// TryWrite sends at once while the socket takes it; when the client stops
// reading, it takes part of a frame (the rest kept for Flush) or nothing,
// and the frames the client reads later are all there, whole, in order:
// TryWrite's, Flush's rest and Write's.
func TestTryWriteKeepsOrder(t *testing.T) {
	srv, conns := serve(t)
	nc, br, sc := rawClient(t, srv, conns)
	if sc.raw == nil {
		t.Fatal("a TCP connection has no descriptor for TryWrite")
	}
	msg := func(i int) []byte {
		b := bytes.Repeat([]byte{byte(i)}, 1000+i%7)
		binary.BigEndian.PutUint32(b, uint32(i))
		return b
	}
	sent, partial := 0, false
	for i := 0; i < 100000 && !partial; i++ { // the client does not read yet
		ok, more, err := sc.TryWrite(msg(i))
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break // the socket's buffers are full
		}
		sent++
		partial = more
	}
	if sent == 0 {
		t.Fatal("TryWrite sent nothing to an idle connection")
	}
	if sent == 100000 {
		t.Fatal("the socket never filled")
	}
	total := sent + 3
	got := make(chan int, total)
	readErr := make(chan error, 1)
	go func() { // the client reads now: frames whole and in order
		readErr <- readFrames(nc, br, total, msg, got)
	}()
	// once the client has read a good part, the socket has room again,
	// but nothing else goes while a frame is unfinished
	for range min(sent, 1000) {
		<-got
	}
	if partial {
		if ok, _, err := sc.TryWrite(msg(sent)); ok || err != nil {
			t.Fatalf("TryWrite with a frame unfinished: %v %v", ok, err)
		}
	}
	if err := sc.Flush(); err != nil {
		t.Fatal(err)
	}
	for i := sent; i < total; i++ {
		if err := sc.Write(msg(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-readErr; err != nil {
		t.Fatal(err)
	}
	t.Logf("%d frames by TryWrite before the socket filled (last one partial: %v)", sent, partial)
}

// readFrames reads n binary frames of 126..65535 bytes and checks that
// frame i holds msg(i), sending i on got.
func readFrames(nc net.Conn, br *bufio.Reader, n int, msg func(int) []byte, got chan<- int) error {
	nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	for i := 0; i < n; i++ {
		var h [4]byte
		if _, err := io.ReadFull(br, h[:2]); err != nil {
			return fmt.Errorf("frame %d: %v", i, err)
		}
		if h[0] != 0x82 || h[1]&0x7f != 126 {
			return fmt.Errorf("frame %d: header %x", i, h[:2])
		}
		io.ReadFull(br, h[2:4])
		p := make([]byte, binary.BigEndian.Uint16(h[2:4]))
		if _, err := io.ReadFull(br, p); err != nil {
			return fmt.Errorf("frame %d: %v", i, err)
		}
		if !bytes.Equal(p, msg(i)) {
			return fmt.Errorf("frame %d holds message %d", i, binary.BigEndian.Uint32(p))
		}
		got <- i
	}
	return nil
}

// Close ends a Write that waits on a client that does not read.
func TestCloseEndsABlockedWrite(t *testing.T) {
	srv, conns := serve(t)
	_, _, sc := rawClient(t, srv, conns)
	big := make([]byte, 64<<20)
	done := make(chan error, 1)
	go func() { done <- sc.Write(big) }()
	// the write blocks once the socket is full; Close gives it up
	closed := make(chan struct{})
	go func() {
		sc.Close(1001, "going away")
		close(closed)
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a 64 MiB write to a client that reads nothing finished")
		}
	case <-time.After(3 * closeWait):
		t.Fatal("the blocked write did not end")
	}
	<-closed
}
