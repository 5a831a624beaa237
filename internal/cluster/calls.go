package cluster

import (
	"context"
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
// call waiting for its answer gives up as soon as the node turns silent
// (its heartbeat is read again every Options.WatchEvery). The call fails
// then, and the caller falls back as it does for a refused connection.

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
		return fmt.Errorf("node %s left the cluster", n.ID)
	}
	if since := c.o.Now().Sub(n.HeartbeatAt); since > c.silentAfter() {
		return fmt.Errorf("node %s is silent: its last heartbeat was %s ago", n.ID, since.Round(time.Millisecond))
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
// not call a node that is gone, and stops waiting for the answer of one
// that goes silent meanwhile (up to the response's header; a stream that
// has started is not watched).
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
	answered := make(chan struct{})
	go t.c.watch(ctx, host, cancel, answered)
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	close(answered)
	if err != nil {
		cause := context.Cause(ctx)
		cancel(nil)
		if cause != nil && req.Context().Err() == nil {
			return nil, cause // the node went silent
		}
		return nil, err
	}
	if rwc, ok := resp.Body.(io.ReadWriteCloser); ok { // a switched protocol (WebSocket)
		resp.Body = &releasingConn{ReadWriteCloser: rwc, cancel: cancel}
	} else {
		resp.Body = &releasingBody{ReadCloser: resp.Body, cancel: cancel}
	}
	return resp, nil
}

// watch reads the heartbeat of the node at host every WatchEvery until
// its answer came, and cancels the call when the node is gone.
func (c *Cluster) watch(ctx context.Context, host string, cancel context.CancelCauseFunc, answered <-chan struct{}) {
	tick := time.NewTicker(c.o.WatchEvery)
	defer tick.Stop()
	for {
		select {
		case <-answered:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := c.gone(ctx, host); err != nil {
				cancel(err)
				return
			}
		}
	}
}

// releasingBody ends the call's context once its body is closed.
type releasingBody struct {
	io.ReadCloser
	cancel context.CancelCauseFunc
}

func (b *releasingBody) Close() error { return closeAndRelease(b.ReadCloser, b.cancel) }

// releasingConn is releasingBody for a switched protocol's connection.
type releasingConn struct {
	io.ReadWriteCloser
	cancel context.CancelCauseFunc
}

func (b *releasingConn) Close() error { return closeAndRelease(b.ReadWriteCloser, b.cancel) }

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
