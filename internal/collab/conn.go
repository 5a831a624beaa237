package collab

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"ecode/internal/wsock"
	"ecode/internal/yjs/protocol"
)

// Close codes sent to clients (see the package comment).
const (
	CloseNormal        = 1000
	CloseGoingAway     = 1001
	CloseUnsupported   = 1003
	CloseInvalid       = 1007
	ClosePolicy        = 1008
	CloseTooBig        = 1009
	CloseServerError   = 1011
	CloseTryAgainLater = 1013
	CloseFileDeleted   = 4404
	// CloseProjectDeleted: the project is being deleted (package live uses
	// the same code for every connection of a deleted project).
	CloseProjectDeleted = 4410
	CloseNotText        = 4415
)

// E-Code's own message types, beside y-protocols' 0–3 (a stock provider
// ignores them). A client sends the one-byte MessageFlush to have the file
// written now (Save); the server answers the one-byte MessageFlushed once
// the file holds everything the client sent before (or at once when another
// node writes the file: it is told through Redis).
const (
	MessageFlush   = 100
	MessageFlushed = 101
)

// ErrTextFrame is returned by Conn.Read for a text (non-binary) frame.
var ErrTextFrame = errors.New("collab: text frame")

// Conn is one client's stream of binary messages, such as a WebSocket.
// Read is called by one goroutine, Write, Ping and Close by another; Close
// may also be called while a Write is blocked, and must end it.
type Conn interface {
	// Read returns the next message (ErrTextFrame for a text frame).
	Read(ctx context.Context) ([]byte, error)
	Write(ctx context.Context, msg []byte) error
	// Ping checks that the peer still answers (a WebSocket ping).
	Ping(ctx context.Context) error
	// Close sends a close frame with code and reason and ends the
	// connection (it may wait a little for the peer's answer).
	Close(code int, reason string)
}

// DirectConn is a Conn that can also take a message without blocking
// (wsock): the room writes to it itself while nothing is queued for it,
// instead of waking its writer (conn.enqueue).
type DirectConn interface {
	Conn
	// TryWrite sends msg if it can at once. sent false: nothing was
	// written. sent and more: the rest is kept and Flush must finish it.
	TryWrite(msg []byte) (sent, more bool, err error)
	// Flush finishes what TryWrite began, waiting for the peer.
	Flush() error
}

// Socket adapts a WebSocket connection to a DirectConn, limiting messages
// to maxMessage bytes (a longer one closes the connection with 1009).
// Reads and writes end when the connection is closed, whatever their
// context.
func Socket(c *wsock.Conn, maxMessage int64) DirectConn {
	c.SetReadLimit(maxMessage)
	return sockConn{c}
}

type sockConn struct{ c *wsock.Conn }

func (s sockConn) Read(context.Context) ([]byte, error) {
	op, b, err := s.c.Read()
	if err != nil {
		return nil, err
	}
	if op != wsock.OpBinary {
		return nil, ErrTextFrame
	}
	return b, nil
}

func (s sockConn) Write(_ context.Context, msg []byte) error { return s.c.Write(msg) }
func (s sockConn) TryWrite(msg []byte) (bool, bool, error)   { return s.c.TryWrite(msg) }
func (s sockConn) Flush() error                              { return s.c.Flush() }
func (s sockConn) Ping(ctx context.Context) error            { return s.c.Ping(ctx) }
func (s sockConn) Close(code int, reason string)             { s.c.Close(code, reason) }

// conn is a client connection inside the hub.
type conn struct {
	c    Conn
	cl   Client
	opts *Options
	out  chan []byte
	sent *sentCounts // the hub's

	// direct is c when the room may write to it itself: while queued is
	// 0 (every message put in out has been written: the writer counts it
	// down after writing), the room tries direct; what the socket does
	// not take at once is queued, and a frame it took part of is finished
	// by the writer (woken through flush).
	direct DirectConn
	queued atomic.Int64
	flush  chan struct{}
	wrote  atomic.Bool // the room wrote since the writer last looked

	once   sync.Once
	quit   chan struct{}
	code   int
	reason string

	// A client that reads too slowly to keep its queue from filling is
	// not closed: the room stops queueing document updates and awareness
	// for it (lagging) and, once the writer has drained the queue
	// (resync), sends it the whole state in one update instead (see
	// room.resync). Other messages wait in held meanwhile.
	resync atomic.Bool   // set by the room, taken by the writer
	lagged chan struct{} // wakes the writer when lagging starts

	// owned by the room's goroutine:
	directOn bool            // the room is small enough to write to it (room.fanout)
	clients  map[uint64]bool // awareness client ids announced through this connection
	denied   bool            // a viewer was told its updates are dropped
	lagging  bool
	held     [][]byte
}

func newConn(c Conn, cl Client, opts *Options, sent *sentCounts) *conn {
	cn := &conn{c: c, cl: cl, opts: opts, sent: sent, out: make(chan []byte, opts.SendQueue), flush: make(chan struct{}, 1),
		quit: make(chan struct{}), lagged: make(chan struct{}, 1), clients: map[uint64]bool{}}
	cn.direct, _ = c.(DirectConn)
	return cn
}

// sentCounts counts the messages sent to clients by who wrote them.
type sentCounts struct{ room, writer atomic.Int64 }

// kill asks the writer to close the connection with code (the first call wins).
func (c *conn) kill(code int, reason string) {
	c.once.Do(func() {
		c.code, c.reason = code, reason
		close(c.quit)
	})
}

// maxHeld caps the messages a lagging connection keeps besides the
// document and awareness (which it gets again whole when it catches up).
const maxHeld = 64

// enqueue queues msg (called by the room's goroutine). When the queue is
// full the connection starts lagging: document updates and awareness are
// dropped until the room sends the state whole, other messages are held.
func (c *conn) enqueue(msg []byte) {
	if !c.lagging {
		if c.directOn && c.direct != nil && c.queued.Load() == 0 && c.tryDirect(msg) {
			return
		}
		c.queued.Add(1)
		select {
		case c.out <- msg:
			return
		default:
			c.queued.Add(-1)
			c.lagging = true
			c.resync.Store(true)
			select {
			case c.lagged <- struct{}{}:
			default:
			}
		}
	}
	if coalesced(msg) {
		return
	}
	if len(c.held) >= maxHeld {
		c.kill(CloseTryAgainLater, "client too slow")
		return
	}
	c.held = append(c.held, msg)
}

// tryDirect writes msg to the socket from the room's goroutine if the
// socket takes it at once (see conn.direct).
func (c *conn) tryDirect(msg []byte) bool {
	sent, more, err := c.direct.TryWrite(msg)
	if err != nil {
		c.kill(CloseGoingAway, "")
		return true
	}
	if !sent {
		return false
	}
	c.wrote.Store(true)
	c.sent.room.Add(1)
	if more {
		select {
		case c.flush <- struct{}{}:
		default:
		}
	}
	return true
}

// coalesced reports whether a lagging connection may drop msg because
// the resync covers it: sync messages (the state and the server's state
// vector are sent again) and awareness (every state is sent again).
func coalesced(msg []byte) bool {
	return len(msg) > 0 && (msg[0] == protocol.MessageSync || msg[0] == protocol.MessageAwareness)
}

// writeLoop sends queued messages, keeps the connection alive and closes
// it when killed.
func (c *conn) writeLoop(ctx context.Context, r *room) {
	keep := time.NewTicker(c.opts.KeepAlive)
	defer keep.Stop()
	ping := time.NewTicker(c.opts.PingInterval)
	defer ping.Stop()
	// Writes get a context that is never cancelled, so that the WebSocket
	// arms nothing per write; a write is ended by closing the connection
	// instead: when it takes over 15 s (one watchdog timer re-armed per
	// write), or when ctx ends while it is blocked. ctx.Err is checked
	// after writing is set, and is set before the AfterFunc runs, so one
	// of the two sees the other.
	var writing atomic.Bool
	stop := context.AfterFunc(ctx, func() {
		if writing.Load() {
			c.c.Close(goneCode(ctx))
		}
	})
	defer stop()
	watchdog := time.AfterFunc(time.Hour, func() { c.c.Close(CloseGoingAway, "write timed out") })
	watchdog.Stop()
	wctx := context.WithoutCancel(ctx)
	sent := false
	do := func(f func() error) bool {
		writing.Store(true)
		if ctx.Err() != nil {
			writing.Store(false)
			c.kill(goneCode(ctx))
			return false
		}
		watchdog.Reset(15 * time.Second)
		err := f()
		watchdog.Stop()
		writing.Store(false)
		if err != nil {
			c.kill(goneCode(ctx))
			return false
		}
		sent = true
		return true
	}
	write := func(msg []byte) bool {
		if !do(func() error { return c.c.Write(wctx, msg) }) {
			return false
		}
		c.sent.writer.Add(1)
		return true
	}
	for {
		select {
		case <-c.quit:
			c.c.Close(c.code, c.reason)
			return
		case <-ctx.Done():
			c.c.Close(goneCode(ctx))
			return
		case msg := <-c.out:
			c.writeQueued(msg, write)
			c.caughtUp(r)
		case <-c.flush:
			do(c.direct.Flush)
		case <-c.lagged:
			c.caughtUp(r)
		case <-keep.C:
			if direct := c.wrote.Swap(false); !sent && !direct {
				write(keepAliveFrame)
			}
			sent = false
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			err := c.c.Ping(pctx)
			cancel()
			if err != nil && ctx.Err() != nil {
				c.kill(goneCode(ctx))
			} else if err != nil {
				c.kill(CloseGoingAway, "no answer to ping")
			}
		}
	}
}

// maxJoin caps the document updates joined into one message.
const maxJoin = 256

// writeQueued writes msg and, when it is a document update with more
// queued right behind it, joins them into one update (yjs.JoinUpdates):
// one frame and one write instead of one each. A client that falls behind
// thus catches up with fewer, larger messages, and writing costs less the
// more there is to write. Updates that cannot be joined go one by one.
func (c *conn) writeQueued(msg []byte, write func([]byte) bool) {
	taken := int64(1)
	defer func() { c.queued.Add(-taken) }() // after writing: see conn.direct
	u, ok := protocol.UpdateOf(msg)
	if !ok || len(c.out) == 0 {
		write(msg)
		return
	}
	msgs, ups := [][]byte{msg}, [][]byte{u}
	var next []byte // the first queued message that is not an update
	for next == nil && len(ups) < maxJoin {
		select {
		case m := <-c.out:
			taken++
			if p, ok := protocol.UpdateOf(m); ok {
				msgs, ups = append(msgs, m), append(ups, p)
			} else {
				next = m
			}
			continue
		default:
		}
		break
	}
	msgs = joinUpdates(msgs, ups)
	if next != nil {
		msgs = append(msgs, next)
	}
	for _, m := range msgs {
		if !write(m) {
			return
		}
	}
}

// caughtUp asks the room for a resync once a lagging connection's queue
// is empty (called by the writer).
func (c *conn) caughtUp(r *room) {
	if len(c.out) == 0 && c.resync.CompareAndSwap(true, false) {
		r.sendOrQuit(event{kind: evResync, conn: c}, c.quit)
	}
}

// readLoop reads, limits and decodes the client's messages and hands them
// to the room. It returns when the connection ends or is killed.
func (c *conn) readLoop(ctx context.Context, r *room) {
	tokens := float64(c.opts.MessageBurst)
	last := time.Now()
	for {
		b, err := c.c.Read(ctx)
		if err != nil {
			if errors.Is(err, ErrTextFrame) {
				c.kill(CloseUnsupported, "binary y-websocket messages only")
			}
			return
		}
		now := time.Now()
		tokens = min(float64(c.opts.MessageBurst), tokens+now.Sub(last).Seconds()*c.opts.MessageRate)
		last = now
		if tokens < 1 {
			c.kill(ClosePolicy, "too many messages")
			return
		}
		tokens--
		code, reason, m := c.check(b)
		if code != 0 {
			c.kill(code, reason)
			return
		}
		if m == nil {
			continue
		}
		if !r.sendOrQuit(event{kind: evMsg, conn: c, msg: m}, c.quit) {
			return
		}
	}
}

// check decodes and limits one message: a close code and reason for a
// message that ends the connection, nil for one to ignore.
func (c *conn) check(b []byte) (int, string, *protocol.Message) {
	if int64(len(b)) > c.opts.MaxMessageBytes {
		return CloseTooBig, "message too large", nil
	}
	if len(b) == 1 && b[0] == MessageFlush {
		return 0, "", &protocol.Message{Type: MessageFlush}
	}
	m, err := protocol.Decode(b)
	if errors.Is(err, protocol.ErrUnknownMessage) {
		return CloseUnsupported, "unknown message type", nil
	}
	if err != nil {
		return CloseInvalid, "malformed message", nil
	}
	switch m.Type {
	case protocol.MessageSync, protocol.MessageQueryAwareness:
	case protocol.MessageAwareness:
		if len(m.Awareness) > 1000 {
			return CloseTooBig, "too many awareness states", nil
		}
		for _, e := range m.Awareness {
			if len(e.State) > c.opts.MaxAwarenessBytes {
				return CloseTooBig, "awareness state too large", nil
			}
		}
	default: // auth: only servers send it
		return 0, "", nil
	}
	return 0, "", m
}

// goneCode is the close code of a connection whose writes failed or whose
// context ended: the cause's code when it was ended from outside (access
// revoked, project deleted), otherwise 1001.
func goneCode(ctx context.Context) (int, string) {
	if code, reason := endCode(ctx); code != CloseNormal {
		return code, reason
	}
	return CloseGoingAway, ""
}
