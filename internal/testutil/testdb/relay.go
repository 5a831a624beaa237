package testdb

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
)

// RedisRelay is a TCP relay to the test Redis that a test cuts (open
// connections dropped, new ones closed at once) and restores: Redis
// unreachable, as the nodes using it (URL) see it.
type RedisRelay struct {
	// URL is the test Redis's URL (RedisURL) through the relay.
	URL   string
	ln    net.Listener
	mu    sync.Mutex
	down  bool
	conns []net.Conn
}

// NewRedisRelay starts a relay to the test Redis, stopped when the test
// ends.
func NewRedisRelay(t testing.TB) *RedisRelay {
	t.Helper()
	u, err := url.Parse(RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	target := u.Host
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u.Host = ln.Addr().String()
	r := &RedisRelay{URL: u.String(), ln: ln}
	t.Cleanup(func() { ln.Close(); r.Cut() })
	go r.serve(target)
	return r
}

// Addr is the relay's address.
func (r *RedisRelay) Addr() string { return r.ln.Addr().String() }

func (r *RedisRelay) serve(target string) {
	for {
		in, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		down := r.down
		r.mu.Unlock()
		out, err := net.Dial("tcp", target)
		if down || err != nil {
			in.Close()
			if out != nil {
				out.Close()
			}
			continue
		}
		r.mu.Lock()
		r.conns = append(r.conns, in, out)
		r.mu.Unlock()
		go func() { io.Copy(out, in); out.Close() }()
		go func() { io.Copy(in, out); in.Close() }()
	}
}

// Cut drops the open connections and refuses new ones until Restore.
func (r *RedisRelay) Cut() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = true
	for _, c := range r.conns {
		c.Close()
	}
	r.conns = nil
}

// Restore lets connections through again.
func (r *RedisRelay) Restore() {
	r.mu.Lock()
	r.down = false
	r.mu.Unlock()
}
