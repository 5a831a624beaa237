// Package benchsrv runs an E-Code server inside a benchmark's process: the
// same app.Serve as `ecode serve`, on a free loopback port, logging nowhere,
// with a client signed up as the benchmark's user; and what the benches
// read of processes (/proc) and free ports (procs.go).
package benchsrv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"ecode/internal/app"
	"ecode/internal/client"
	"ecode/internal/config"
)

// Server is a server started by Start.
type Server struct {
	Addr string // host:port it listens on
	stop func()
}

// Start serves with args (flags of `ecode serve`; --addr is set to a free
// loopback port) until Stop, and returns once it listens.
func Start(ctx context.Context, name string, args ...string) (*Server, error) {
	cfg, err := config.Load(name, append([]string{"--addr", "127.0.0.1:0"}, args...), func(string) string { return "" })
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- app.Serve(ctx, cfg, slog.New(slog.DiscardHandler), ready) }()
	select {
	case addr := <-ready:
		return &Server{Addr: addr, stop: func() { cancel(); <-done }}, nil
	case err := <-done:
		cancel()
		return nil, err
	}
}

// URL is the server's base URL.
func (s *Server) URL() string { return "http://" + s.Addr }

// Dial connects to the server whatever address a request names: a
// transport's DialContext for URLs on other host names it serves, such as
// published apps at <slug>.apps.localhost.
func (s *Server) Dial(ctx context.Context, network, _ string) (net.Conn, error) {
	return (&net.Dialer{}).DialContext(ctx, network, s.Addr)
}

// Stop shuts the server down and waits for it.
func (s *Server) Stop() { s.stop() }

// SignUp returns a client of the server signed up as the benchmark's user;
// transport, when not nil, is the client's (e.g. more idle connections).
func (s *Server) SignUp(ctx context.Context, transport http.RoundTripper) (*client.Client, error) {
	c := client.New(s.URL())
	if transport != nil {
		c.HTTP.Transport = transport
	}
	if _, err := c.Signup(ctx, "bench@example.test", "benchmark password", "Bench"); err != nil {
		return nil, err
	}
	return c, nil
}

// StartNode starts a node of a cluster (as Start): it shares the database
// at dbURL, Redis and the data directory dir with the other nodes, with an
// internal listener on a free port and the benchmarks' cluster secret.
func StartNode(ctx context.Context, name, id, dir, dbURL, redis string, args ...string) (*Server, error) {
	internal, err := freeAddr()
	if err != nil {
		return nil, err
	}
	return Start(ctx, name, append([]string{"--data-dir", dir, "--database-url", dbURL, "--redis-url", redis,
		"--internal-addr", internal, "--node-id", id, "--cluster-secret", "bench-cluster-secret-0123456789"}, args...)...)
}

// freeAddr is a loopback address nobody listens on (the internal listener's
// address must be known to be advertised).
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Schema makes a schema of the run's own (named prefix_<random>) on the
// PostgreSQL server at base and returns a URL selecting it, and drop,
// which drops it.
func Schema(base, prefix string) (url string, drop func(), err error) {
	db, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, err
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := prefix + "_" + hex.EncodeToString(b)
	if _, err := db.Exec(`CREATE SCHEMA ` + name); err != nil {
		db.Close()
		return "", nil, err
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + name, func() { db.Exec(`DROP SCHEMA ` + name + ` CASCADE`); db.Close() }, nil
}
