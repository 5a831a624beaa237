// Package dbproxy lets a sandbox reach its project's PostgreSQL database and
// nothing else on the server: a listener on 127.0.0.1:5432 inside each
// sandbox's network namespace that reads the client's startup message and
// forwards the connection only when it asks for the project's own role and
// database.
package dbproxy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"ecode/internal/sandbox"
)

// Where the proxy listens inside each sandbox: PostgreSQL's usual port.
const (
	Port = 5432
	Addr = "127.0.0.1:5432"
)

const (
	protocolV3  = 196608
	sslRequest  = 80877103
	gssRequest  = 80877104
	maxStartup  = 10000
	dialTimeout = 10 * time.Second
)

// Proxy forwards sandboxes' database connections to the server. Its Setup,
// Forget and Close (from sandbox.Listeners) are the sandbox hooks.
type Proxy struct {
	*sandbox.Listeners
	target string // host:port of the PostgreSQL server, dialled from the host
	allow  func(workspaceID string) (role, database string)
	log    *slog.Logger
}

// New makes a proxy to target; allow names the one role and database a
// workspace may use; listen opens a listener inside a network namespace.
func New(target string, allow func(string) (string, string), listen func(*os.File, string, string) (net.Listener, error), log *slog.Logger) *Proxy {
	p := &Proxy{target: target, allow: allow, log: log}
	p.Listeners = &sandbox.Listeners{Addr: Addr, Listen: listen, Serve: p.serve}
	return p
}

func (p *Proxy) serve(l net.Listener, workspaceID string) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go p.handle(c, workspaceID)
	}
}

// handle checks the startup message, then pipes bytes both ways.
func (p *Proxy) handle(c net.Conn, workspaceID string) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	startup, params, err := readStartup(c)
	if err != nil {
		return
	}
	role, db := p.allow(workspaceID)
	if role == "" || params["user"] != role || (params["database"] != db && !(params["database"] == "" && role == db)) {
		p.log.Info("database connection refused", "workspace", workspaceID, "user", params["user"], "database", params["database"])
		writeError(c, "this sandbox may only connect to its project's database as its project's role")
		return
	}
	up, err := net.DialTimeout("tcp", p.target, dialTimeout)
	if err != nil {
		writeError(c, "the database server is not reachable")
		return
	}
	defer up.Close()
	c.SetDeadline(time.Time{})
	if _, err := up.Write(startup); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, c); done <- struct{}{} }()
	go func() { io.Copy(c, up); done <- struct{}{} }()
	<-done
}

// readStartup reads the client's startup message, refusing TLS and GSS
// encryption requests (the link never leaves the machine), and returns the
// raw message and its parameters.
func readStartup(c net.Conn) ([]byte, map[string]string, error) {
	for range 3 {
		var hdr [8]byte
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return nil, nil, err
		}
		n := int(binary.BigEndian.Uint32(hdr[:4]))
		code := binary.BigEndian.Uint32(hdr[4:])
		if n < 8 || n > maxStartup {
			return nil, nil, errors.New("bad startup length")
		}
		if code == sslRequest || code == gssRequest {
			if _, err := c.Write([]byte{'N'}); err != nil {
				return nil, nil, err
			}
			continue
		}
		if code != protocolV3 {
			return nil, nil, fmt.Errorf("unsupported protocol %d", code)
		}
		body := make([]byte, n-8)
		if _, err := io.ReadFull(c, body); err != nil {
			return nil, nil, err
		}
		params := map[string]string{}
		parts := bytes.Split(bytes.TrimRight(body, "\x00"), []byte{0})
		for i := 0; i+1 < len(parts); i += 2 {
			params[string(parts[i])] = string(parts[i+1])
		}
		return append(hdr[:], body...), params, nil
	}
	return nil, nil, errors.New("too many encryption requests")
}

// writeError sends a PostgreSQL ErrorResponse so clients show the reason.
func writeError(c net.Conn, msg string) {
	var b bytes.Buffer
	for _, f := range []struct {
		t byte
		v string
	}{{'S', "FATAL"}, {'C', "28000"}, {'M', msg}} {
		b.WriteByte(f.t)
		b.WriteString(f.v)
		b.WriteByte(0)
	}
	b.WriteByte(0)
	out := []byte{'E', 0, 0, 0, 0}
	binary.BigEndian.PutUint32(out[1:], uint32(b.Len()+4))
	c.Write(append(out, b.Bytes()...))
}
