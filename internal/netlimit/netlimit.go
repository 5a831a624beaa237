// Package netlimit caps how many connections a listener keeps open, in
// total and per client address, so that one client (or many slow ones)
// cannot use up the server's file descriptors.
package netlimit

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
)

// Listener wraps a net.Listener: a connection over either cap is accepted
// and closed at once (so the kernel's backlog never fills), and others are
// served as usual.
type Listener struct {
	net.Listener
	total, perAddr int

	mu     sync.Mutex
	open   int
	byAddr map[netip.Prefix]int

	refused atomic.Int64
}

// New caps ln at total open connections and perAddr per client address
// (IPv6 clients are counted per /64, the block one subscriber usually has).
// A cap of 0 or less means no cap.
func New(ln net.Listener, total, perAddr int) *Listener {
	return &Listener{Listener: ln, total: total, perAddr: perAddr, byAddr: map[netip.Prefix]int{}}
}

// Refused counts the connections closed for being over a cap.
func (l *Listener) Refused() int64 { return l.refused.Load() }

// Open is the number of connections currently held.
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// Accept returns the next connection within the caps.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := AddrKey(c.RemoteAddr())
		if l.admit(key) {
			return &conn{Conn: c, release: func() { l.release(key) }}, nil
		}
		l.refused.Add(1)
		c.Close()
	}
}

func (l *Listener) admit(key netip.Prefix) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if (l.total > 0 && l.open >= l.total) || (l.perAddr > 0 && l.byAddr[key] >= l.perAddr) {
		return false
	}
	l.open++
	l.byAddr[key]++
	return true
}

func (l *Listener) release(key netip.Prefix) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.byAddr[key]--; l.byAddr[key] <= 0 {
		delete(l.byAddr, key)
	}
}

// AddrKey is the client a connection is counted against: its IPv4
// address, or the /64 of its IPv6 address.
func AddrKey(a net.Addr) netip.Prefix {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Prefix{}
	}
	ip := ap.Addr().Unmap()
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}

// conn releases its slot once, on the first Close.
type conn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// ReadFrom hands a copy into the connection to the connection itself, so a
// file sent to a TCP connection still goes with sendfile (net/http's
// response writer looks for an io.ReaderFrom on its connection).
func (c *conn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

// SyscallConn gives the connection's file descriptor when it has one
// (package wsock writes to it without blocking).
func (c *conn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.New("netlimit: the connection has no file descriptor")
}
