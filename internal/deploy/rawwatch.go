package deploy

import (
	"errors"
	"net"
	"os"
	"time"
)

// A client that goes away while the raw path waits for the app is
// noticed as net/http's server notices it (its background read), and the
// app's request is aborted: its connection to the app is closed, never
// kept, so the app sees its client leave, as behind net/http's
// ReverseProxy or nginx. Nothing is paid for it while the app answers
// fast: the deadline rawSend sets on the app's connection for the
// response's head is first a short one (fastProxy.watchAfter after the
// request was sent). When a read of the app's connection, for the head or
// the body, would wait past it, upConn.Read starts the watch
// (watchClient): a goroutine reads the client's connection, which the raw
// path does not read while it serves a request. The end of the connection
// or an error means the client left: the watch closes the app's
// connection, on which the raw path's read then fails. A byte means the
// client is still there (a pipelined request): it is kept for the next
// read (rawConn.Read) and the watch ends, as net/http's background read
// does. Before the raw path reads the client's connection again, or keeps
// the app's one in the pool, it stops the watch and waits for it
// (unwatch). A client that went away before the app's head arrived is
// answered nothing and counted and logged as net/http's path counts it:
// StatusClientClosed (499), no bytes; not a 502, the app did not fail.

// Read reads the client's connection, the byte the watch read first.
func (rc *rawConn) Read(p []byte) (int, error) {
	if rc.peeked && len(p) > 0 {
		p[0] = rc.peek[0]
		rc.peeked = false
		return 1, nil
	}
	return rc.c.Read(p)
}

// watchClient starts watching the client while the app's answer on up is
// awaited (on the raw path's goroutine, from upConn.Read); a watch already
// running (a request sent again) closes up from now on.
func (rc *rawConn) watchClient(up net.Conn) {
	rc.mu.Lock()
	rc.up = up
	gone := rc.gone
	rc.mu.Unlock()
	if gone {
		up.Close()
		return
	}
	if rc.watched != nil {
		return
	}
	rc.watched = make(chan struct{})
	rc.c.SetReadDeadline(time.Time{}) // the request head's: the app may take longer
	go rc.watch(rc.watched)
}

// watch reads the client's connection until a byte, its end or unwatch.
func (rc *rawConn) watch(done chan struct{}) {
	defer close(done)
	n, err := rc.c.Read(rc.peek[:])
	if n > 0 {
		rc.peeked = true
		return
	}
	if errors.Is(err, os.ErrDeadlineExceeded) { // unwatch
		return
	}
	rc.mu.Lock()
	rc.gone = true
	if rc.up != nil {
		rc.up.Close()
	}
	rc.mu.Unlock()
}

// left reports whether the watch found the client gone (the app's answer
// is no longer awaited: a failed request is not sent again).
func (rc *rawConn) left() bool {
	if rc.watched == nil {
		return false
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.gone
}

// unwatch stops the watch and waits for it to end; it reports whether the
// client went away. The client's read deadline is left in the past: the
// next read sets its own.
func (rc *rawConn) unwatch() bool {
	if rc.watched == nil {
		return false
	}
	rc.c.SetReadDeadline(time.Unix(1, 0)) // in the past: the pending read returns
	<-rc.watched
	rc.watched, rc.up = nil, nil
	return rc.gone
}
