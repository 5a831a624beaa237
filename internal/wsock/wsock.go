// Package wsock is the server side of the WebSocket protocol (RFC 6455)
// as the collaboration hub needs it: the opening handshake, a reader of
// the client's frames (masked, possibly fragmented, pings answered), and
// writes of whole binary frames that can also be tried without blocking;
// and, for relays of other servers' sockets, a close frame to send in a
// server's place and where frames end in a stream (frames.go).
//
// The non-blocking try is the reason this package exists beside the
// general WebSocket library the rest of the server uses: a room that
// broadcasts an update writes it to every connection that can take it
// at once itself, one write system call each, instead of handing it to a
// writer goroutine per connection (a wake-up and a hand-off per client
// per edit). A connection that is busy or whose socket buffer is full is
// left to its writer goroutine as before.
package wsock

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Close codes this package sends by itself.
const (
	CloseNormal   = 1000
	CloseProtocol = 1002
	CloseTooBig   = 1009
)

// Opcodes of data messages returned by Read.
const (
	OpText   = 1
	OpBinary = 2
)

const (
	opContinuation = 0
	opClose        = 8
	opPing         = 9
	opPong         = 10
)

// closeWait bounds how long Close waits for a blocked write to give way
// and for the peer's answering close frame.
const closeWait = 2 * time.Second

// smallFrame is the largest frame a blocking write copies into one buffer
// (one write system call); larger ones go as header and payload.
const smallFrame = 16 << 10

var (
	// ErrClosed is returned by writes after Close or after the peer's
	// close frame.
	ErrClosed = errors.New("wsock: connection closed")
	// ErrTooBig is returned by Read for a message over the read limit
	// (the connection is closed with 1009).
	ErrTooBig = errors.New("wsock: message too big")
)

// CloseError is returned by Read when the peer sent its close frame.
type CloseError struct {
	Code   int // 1005 when the frame had no code
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("wsock: closed by the peer: %d %s", e.Code, e.Reason)
}

// ProtocolError is returned by Read for a frame that breaks the protocol
// (the connection is closed with 1002).
type ProtocolError struct{ Msg string }

func (e *ProtocolError) Error() string { return "wsock: protocol error: " + e.Msg }

// Conn is an accepted WebSocket connection. Read is called by one
// goroutine; Write, TryWrite, Flush, Ping and Close by any.
type Conn struct {
	nc    net.Conn
	raw   syscall.RawConn // nil: TryWrite never writes
	br    *bufio.Reader
	limit int64

	rmu      sync.Mutex // one reader: Read, or Close draining
	gotClose bool       // the peer's close frame was read (under rmu)

	wmu       sync.Mutex
	pending   []byte // the rest of a frame TryWrite began (under wmu)
	wbuf      []byte // a blocking write's frame (under wmu)
	sentClose bool   // (under wmu)
	broken    bool   // a write failed, maybe mid-frame (under wmu)

	pong    chan struct{}
	closing atomic.Bool // Close or fail has begun
}

// Accept answers a WebSocket opening handshake on w and takes the
// connection over. A request that is no valid handshake (answered 400,
// 405 or 426) or whose Origin is not the request's host (403) is
// answered with the error, which Accept returns.
func Accept(w http.ResponseWriter, r *http.Request) (*Conn, error) {
	if code, err := checkHandshake(w, r); err != nil {
		http.Error(w, err.Error(), code)
		return nil, err
	}
	h := w.Header()
	h.Set("Upgrade", "websocket")
	h.Set("Connection", "Upgrade")
	h.Set("Sec-WebSocket-Accept", acceptKey(strings.TrimSpace(r.Header.Get("Sec-WebSocket-Key"))))
	w.WriteHeader(http.StatusSwitchingProtocols)
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, fmt.Errorf("wsock: hijack: %w", err)
	}
	nc.SetDeadline(time.Time{})
	// bytes the client sent right after its handshake are in brw.Reader
	var src io.Reader = nc
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		src = io.MultiReader(bytes.NewReader(bytes.Clone(b)), nc)
	}
	return newConn(nc, bufio.NewReaderSize(src, 4096)), nil
}

func newConn(nc net.Conn, br *bufio.Reader) *Conn {
	c := &Conn{nc: nc, br: br, limit: 32 << 20, pong: make(chan struct{}, 1)}
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
		}
	}
	return c
}

// checkHandshake returns the status and error for a request that is not
// a WebSocket opening handshake this server accepts.
func checkHandshake(w http.ResponseWriter, r *http.Request) (int, error) {
	if !r.ProtoAtLeast(1, 1) {
		return http.StatusUpgradeRequired, errors.New("websocket: the handshake needs HTTP/1.1")
	}
	if !hasToken(r.Header, "Connection", "upgrade") || !hasToken(r.Header, "Upgrade", "websocket") {
		w.Header().Set("Connection", "Upgrade")
		w.Header().Set("Upgrade", "websocket")
		return http.StatusUpgradeRequired, errors.New("websocket: not an upgrade to websocket")
	}
	if r.Method != http.MethodGet {
		return http.StatusMethodNotAllowed, errors.New("websocket: the handshake must be a GET")
	}
	if r.Header.Get("Sec-WebSocket-Version") != "13" {
		w.Header().Set("Sec-WebSocket-Version", "13")
		return http.StatusBadRequest, errors.New("websocket: only version 13 is supported")
	}
	keys := r.Header.Values("Sec-WebSocket-Key")
	if len(keys) != 1 {
		return http.StatusBadRequest, errors.New("websocket: one Sec-WebSocket-Key is needed")
	}
	if k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(keys[0])); err != nil || len(k) != 16 {
		return http.StatusBadRequest, errors.New("websocket: Sec-WebSocket-Key is not 16 bytes in base64")
	}
	if err := sameOrigin(r); err != nil {
		return http.StatusForbidden, err
	}
	return 0, nil
}

// sameOrigin accepts a request without Origin (not a browser) or whose
// Origin's host is the request's Host: a page of another site may not
// open the socket with the user's cookies.
func sameOrigin(r *http.Request) error {
	o := r.Header.Get("Origin")
	if o == "" {
		return nil
	}
	_, rest, ok := strings.Cut(o, "://")
	if !ok || rest == "" || strings.ContainsAny(rest, "/?#@") {
		return fmt.Errorf("websocket: Origin %q is not a valid origin", o)
	}
	if !strings.EqualFold(rest, r.Host) {
		return fmt.Errorf("websocket: Origin %q is not this host", o)
	}
	return nil
}

// hasToken reports whether header name holds token in its comma-separated
// lists (case-insensitive).
func hasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// acceptKey is Sec-WebSocket-Accept for key (RFC 6455 §4.2.2).
func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// SetReadLimit caps a message's size (default 32 MiB).
func (c *Conn) SetReadLimit(n int64) { c.limit = n }
