package remote

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/yamux"
)

// Tunnels: services of the node offered inside the pod (the egress proxy,
// the project's database proxy). The agent listens on each address of
// ServerOptions.Tunnels inside the pod; every connection a process makes
// there becomes a stream the agent opens to the connected node, headed by
// {"op":"tunnel","addr":...}; the node hands it to the listener its
// Workspace.Listen returned for that address. Without a connected node a
// connection waits up to handshakeTimeout for one (the node's handshake
// may have just finished), then is closed; after a dropped session the
// tunnels work again once the node has dialled the agent again, which it
// does at once on its own (Workspace.watch).

// tunnels is the agent's side: the node's current session.
type tunnels struct {
	mu    sync.Mutex
	sess  *yamux.Session
	ready chan struct{} // closed while sess is set
}

// set makes sess the session tunnelled connections go to.
func (t *tunnels) set(sess *yamux.Session) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.sess == nil {
		if t.ready == nil {
			t.ready = make(chan struct{})
		}
		close(t.ready)
	}
	t.sess = sess
}

// unset forgets sess if it is still the current one.
func (t *tunnels) unset(sess *yamux.Session) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.sess == sess {
		t.sess, t.ready = nil, make(chan struct{})
	}
}

// current is the node's session, waiting a while for one; nil if none came.
func (t *tunnels) current(ctx context.Context) *yamux.Session {
	t.mu.Lock()
	if t.ready == nil {
		t.ready = make(chan struct{})
	}
	sess, ready := t.sess, t.ready
	t.mu.Unlock()
	if sess != nil {
		return sess
	}
	timer := time.NewTimer(handshakeTimeout)
	defer timer.Stop()
	select {
	case <-ready:
	case <-timer.C:
	case <-ctx.Done():
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sess
}

// listen opens the agent's listeners on addrs; they close with ctx.
func (t *tunnels) listen(ctx context.Context, addrs []string, wg *sync.WaitGroup) error {
	var lns []net.Listener
	for _, addr := range addrs {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return err
		}
		lns = append(lns, ln)
	}
	for i, ln := range lns {
		context.AfterFunc(ctx, func() { ln.Close() })
		wg.Go(func() { t.serve(ctx, ln, addrs[i]) })
	}
	return nil
}

// serve forwards each connection accepted on ln to the node; the
// connections are closed when ctx ends.
func (t *tunnels) serve(ctx context.Context, ln net.Listener, addr string) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		stop := context.AfterFunc(ctx, func() { c.Close() })
		wg.Go(func() { defer stop(); t.forward(ctx, c, addr) })
	}
}

func (t *tunnels) forward(ctx context.Context, c net.Conn, addr string) {
	defer c.Close()
	st := t.open(ctx)
	if st == nil {
		return
	}
	defer st.Close()
	hdr, _ := json.Marshal(request{Op: "tunnel", Addr: addr})
	if writeFrame(st, frameHeader, hdr) != nil {
		return
	}
	pipe(c, st)
}

// open opens a stream to the node. A session found closed (its
// connection dropped; the node is dialling again) is forgotten and the
// next one awaited. nil when no node came.
func (t *tunnels) open(ctx context.Context) *yamux.Stream {
	for {
		sess := t.current(ctx)
		if sess == nil {
			return nil
		}
		st, err := sess.OpenStream()
		if err == nil {
			return st
		}
		if !sess.IsClosed() {
			return nil
		}
		t.unset(sess)
	}
}

// pipe copies bytes both ways until both directions end (or one fails).
func pipe(a, b net.Conn) {
	done := make(chan struct{})
	go func() {
		io.Copy(a, b)
		closeWrite(a)
		close(done)
	}()
	io.Copy(b, a)
	closeWrite(b)
	<-done
}

// closeWrite ends c's outgoing half (or closes c when it has none).
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		return
	}
	c.Close()
}

// tunnelListener is the node's side of one tunnelled address.
type tunnelListener struct {
	w    *Workspace
	addr string
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

// Listen returns a listener of the connections processes in the pod make
// to addr, one of the agent's ServerOptions.Tunnels. A later Listen of the
// same address replaces it; Close of the workspace closes it.
func (w *Workspace) Listen(addr string) net.Listener {
	l := &tunnelListener{w: w, addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
	w.mu.Lock()
	if w.tunnels == nil {
		w.tunnels = map[string]*tunnelListener{}
	}
	old := w.tunnels[addr]
	w.tunnels[addr] = l
	closed := w.closed
	w.mu.Unlock()
	if old != nil {
		old.Close()
	}
	if closed {
		l.Close()
	}
	return l
}

func (l *tunnelListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *tunnelListener) Close() error {
	l.once.Do(func() {
		close(l.done)
		l.w.mu.Lock()
		if l.w.tunnels[l.addr] == l {
			delete(l.w.tunnels, l.addr)
		}
		l.w.mu.Unlock()
	})
	return nil
}

func (l *tunnelListener) Addr() net.Addr { return tunnelAddr(l.addr) }

// tunnelAddr is the in-pod address a tunnel listener stands for.
type tunnelAddr string

func (a tunnelAddr) Network() string { return "tcp" }
func (a tunnelAddr) String() string  { return string(a) }

// acceptTunnels takes the streams the agent opens on sess (tunnelled
// connections) until sess ends.
func (w *Workspace) acceptTunnels(sess *yamux.Session) {
	for {
		st, err := sess.AcceptStream()
		if err != nil {
			return
		}
		go w.tunnelled(st)
	}
}

// tunnelled hands one tunnelled stream to its address's listener.
func (w *Workspace) tunnelled(st *yamux.Stream) {
	st.SetReadDeadline(time.Now().Add(handshakeTimeout))
	t, p, err := readFrame(st, nil)
	if err != nil || t != frameHeader {
		st.Close()
		return
	}
	req, err := parseRequest(p)
	if err != nil || req.Op != "tunnel" {
		st.Close()
		return
	}
	st.SetReadDeadline(time.Time{})
	w.mu.Lock()
	l := w.tunnels[req.Addr]
	w.mu.Unlock()
	if l == nil {
		st.Close()
		return
	}
	w.touch()
	select {
	case l.ch <- &activeConn{Conn: st, touch: w.touch}:
	case <-l.done:
		st.Close()
	}
}
