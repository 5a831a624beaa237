package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"ecode/internal/store"
)

// Calls to other nodes (Tell, and the requests the API forwards through
// Transport) must not wait long on a node that is gone. A node whose
// process died refuses the connection at once; a host that is paused,
// partitioned or switched off does not answer at all. So connecting is
// bounded by Options.DialTimeout, and the node registry's heartbeat says
// who is gone: a node that missed two heartbeats (silent for more than two
// thirds of the TTL, on Options.Now) or that left is not called, and a
// call to it is watched (its heartbeat is read again every
// Options.WatchEvery) for as long as it lasts: while it waits for the
// answer, and then while the answer streams (an event stream, a log) or
// while the protocol it switched to runs (a WebSocket), until its body is
// closed. When the node turns silent or leaves, the call ends: waiting,
// it fails and the caller falls back as it does for a refused connection;
// streaming, the body's next read fails with why (a switched protocol's
// connection is closed), so whoever copies it to a client ends that
// client's stream and the client reconnects, to a live node once the
// project's lease ran out. A node that is gone is told by ErrNodeGone.

// ErrNodeGone is wrapped by the error of a call given up because its node
// is silent or left the cluster.
var ErrNodeGone = errors.New("the node does not answer")

// peers is the node registry as last read: one read serves every call
// made within Options.WatchEvery.
type peers struct {
	mu    sync.Mutex
	read  time.Time // real time
	nodes []store.Node
}

// silentAfter is how long a node may go without a heartbeat before calls
// to it give up: two missed heartbeats (they come every TTL/3).
func (c *Cluster) silentAfter() time.Duration { return 2 * c.o.TTL / 3 }

// gone returns why the node listening at host (the host:port of its
// internal URL) is not to be waited for, or nil. A host no node
// advertises is not judged. The registry as last read clears a node; a
// node it finds gone is judged again on a fresh read.
func (c *Cluster) gone(ctx context.Context, host string) error {
	err := c.judge(c.nodeAt(ctx, host, false))
	if err != nil {
		err = c.judge(c.nodeAt(ctx, host, true))
	}
	return err
}

func (c *Cluster) judge(n store.Node, ok bool) error {
	if !ok {
		return nil
	}
	if n.State == store.NodeStopped {
		return fmt.Errorf("node %s left the cluster: %w", n.ID, ErrNodeGone)
	}
	if since := c.o.Now().Sub(n.HeartbeatAt); since > c.silentAfter() {
		return fmt.Errorf("node %s is silent: its last heartbeat was %s ago: %w", n.ID, since.Round(time.Millisecond), ErrNodeGone)
	}
	return nil
}

// nodeAt finds the node whose internal listener is at host in the
// registry, read again when fresh or when the last read is older than
// WatchEvery.
func (c *Cluster) nodeAt(ctx context.Context, host string, fresh bool) (store.Node, bool) {
	c.peers.mu.Lock()
	defer c.peers.mu.Unlock()
	if fresh || c.peers.nodes == nil || time.Since(c.peers.read) >= c.o.WatchEvery {
		nodes, err := c.st.Nodes(ctx)
		if err != nil {
			c.o.Log.Warn("read the node registry", "err", err) // judged on the last read
		} else {
			c.peers.nodes, c.peers.read = nodes, time.Now()
		}
	}
	for _, n := range c.peers.nodes {
		if u, err := url.Parse(n.Address); err == nil && u.Host == host {
			return n, true
		}
	}
	return store.Node{}, false
}

// Transport carries requests to other nodes' internal listeners: it does
// not call a node that is gone, and ends a call whose node goes silent
// meanwhile, waiting for its answer or streaming it (see above).
func (c *Cluster) Transport() http.RoundTripper { return c.transport }

func (c *Cluster) newTransport() http.RoundTripper {
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.DialContext = (&net.Dialer{Timeout: c.o.DialTimeout, KeepAlive: 30 * time.Second}).DialContext
	return &watchedTransport{c: c, base: base}
}

type watchedTransport struct {
	c    *Cluster
	base http.RoundTripper
}

func (t *watchedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	host := req.URL.Host
	if err := t.c.gone(req.Context(), host); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancelCause(req.Context())
	call := &call{cancel: cancel}
	go t.c.watch(ctx, host, call)
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel(nil)
		if gone := call.gone(); gone != nil && req.Context().Err() == nil {
			return nil, gone
		}
		return nil, err
	}
	if rwc, ok := resp.Body.(io.ReadWriteCloser); ok { // a switched protocol (WebSocket)
		call.hold(rwc)
		resp.Body = &watchedConn{ReadWriteCloser: rwc, call: call}
	} else {
		resp.Body = &watchedBody{ReadCloser: resp.Body, call: call}
	}
	return resp, nil
}

// watch reads the heartbeat of the node at host every WatchEvery for as
// long as the call lasts (until its context ends: its body was closed, or
// its caller gave up), and ends the call when the node is gone. One
// registry read serves every watcher within WatchEvery (nodeAt).
func (c *Cluster) watch(ctx context.Context, host string, call *call) {
	tick := time.NewTicker(c.o.WatchEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := c.gone(ctx, host); err != nil {
				call.end(err)
				return
			}
		}
	}
}

// call is one call to another node, as its watcher ends it.
type call struct {
	cancel context.CancelCauseFunc // ends the call's context: the transport drops a request or a body

	mu   sync.Mutex
	why  error     // the node is gone: why the call was ended
	conn io.Closer // a switched protocol's connection (no context governs it)
}

// end ends the call because its node is gone.
func (c *call) end(why error) {
	c.mu.Lock()
	c.why = why
	conn := c.conn
	c.mu.Unlock()
	c.cancel(why)
	if conn != nil {
		conn.Close()
	}
}

// hold makes conn the call's, closed when the call is ended (at once if
// it was already).
func (c *call) hold(conn io.Closer) {
	c.mu.Lock()
	c.conn = conn
	why := c.why
	c.mu.Unlock()
	if why != nil {
		conn.Close()
	}
}

// gone is why the call was ended, or nil.
func (c *call) gone() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.why
}

// failed is err, or why the call was ended when it was: a read that
// failed because the node went silent says so.
func (c *call) failed(err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	if why := c.gone(); why != nil {
		return why
	}
	return err
}

// watchedBody is a streamed answer's body: reads fail with why once the
// node is gone; closing it ends the call and its watcher.
type watchedBody struct {
	io.ReadCloser
	call *call
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	return n, b.call.failed(err)
}

func (b *watchedBody) Close() error { return closeAndRelease(b.ReadCloser, b.call.cancel) }

// watchedConn is watchedBody for a switched protocol's connection.
type watchedConn struct {
	io.ReadWriteCloser
	call *call
}

func (b *watchedConn) Read(p []byte) (int, error) {
	n, err := b.ReadWriteCloser.Read(p)
	return n, b.call.failed(err)
}

func (b *watchedConn) Write(p []byte) (int, error) {
	n, err := b.ReadWriteCloser.Write(p)
	return n, b.call.failed(err)
}

func (b *watchedConn) Close() error { return closeAndRelease(b.ReadWriteCloser, b.call.cancel) }

func closeAndRelease(c io.Closer, cancel context.CancelCauseFunc) error {
	err := c.Close()
	cancel(nil)
	return err
}

// Tell sends an empty POST of path, signed, to node o's internal listener
// and fails unless it answers 2xx, within Options.CallTimeout (sooner when
// the node is gone, see above).
func (c *Cluster) Tell(ctx context.Context, o Owner, path string) error {
	ctx, cancel := context.WithTimeout(ctx, c.o.CallTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(o.Address, "/")+path, nil)
	if err != nil {
		return err
	}
	c.Sign(req)
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("node %s answered %s to %s: %s", o.NodeID, resp.Status, path, strings.TrimSpace(string(body)))
	}
	return nil
}
