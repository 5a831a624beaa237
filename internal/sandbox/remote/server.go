package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/yamux"

	"ecode/internal/sandbox"
)

// ServerOptions configure the agent.
type ServerOptions struct {
	Root  string   // the workspace directory ("/workspace" in a pod); Cmd.Dir is relative to it
	Token string   // shared secret the node must prove it holds
	Env   []string // extra KEY=VALUE for every command
	// UID, when > 0, is the uid (and gid, with no supplementary groups)
	// every command runs as, without capabilities and with no_new_privs;
	// the agent itself must then run as root and becomes non-dumpable, so
	// user code can read neither its token file (root's, mode 0400) nor
	// its memory or /proc files. 0 runs commands as the agent's own uid.
	UID int
	// Tunnels are addresses inside the pod (e.g. 127.0.0.1:3128) whose
	// connections the agent forwards to the node (see Workspace.Listen).
	Tunnels []string
	Log     *slog.Logger
}

// ptyGrace is how long the agent waits for a finished PTY process's last
// terminal output (held by a leftover that escaped the kill) before it
// reports the exit.
const ptyGrace = time.Second

// agent serves the streams of every authenticated connection.
type agent struct {
	ws    sandbox.Workspace
	root  string
	token string
	log   *slog.Logger
	tun   tunnels
}

// Serve runs the agent on ln until ctx is done: it authenticates each
// connection, then serves its operations. When it returns, every process
// it started has been killed.
//
// Usage is best effort: CPU and memory come from the agent's own cgroup v2
// files (the container's cgroup in a pod) and stay zero where those cannot
// be read; disk is the filesystem holding Root. Limits are the pod's
// (resources in its spec), not the agent's.
func Serve(ctx context.Context, ln net.Listener, o ServerOptions) error {
	if o.Token == "" {
		return errors.New("remote: the agent needs a token")
	}
	root, err := filepath.Abs(o.Root)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return fmt.Errorf("remote: workspace root %q is not a directory", root)
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.UID < 0 {
		return fmt.Errorf("remote: bad uid %d", o.UID)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	var none sandbox.NoneOptions
	if o.UID > 0 {
		if none.Start, err = harden(ctx); err != nil {
			return err
		}
	}
	runner := sandbox.NoneWith(none) // the pod is the isolation boundary
	defer runner.Close()
	ws, err := runner.Workspace(ctx, "agent", sandbox.Spec{Dir: root, Env: o.Env, UID: o.UID})
	if err != nil {
		return err
	}
	a := &agent{ws: ws, root: root, token: o.Token, log: log}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	if err := a.tun.listen(ctx, o.Tunnels, &wg); err != nil {
		return fmt.Errorf("remote: tunnel: %w", err)
	}
	log.Info("sandbox agent listening", "addr", ln.Addr().String(), "root", root, "uid", o.UID)
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		wg.Add(1)
		go func() { defer wg.Done(); a.serveConn(ctx, c) }()
	}
}

func yamuxConfig() *yamux.Config {
	c := yamux.DefaultConfig()
	c.LogOutput = io.Discard
	c.KeepAliveInterval = 15 * time.Second
	return c
}

// serveConn authenticates c and serves its streams until it closes.
func (a *agent) serveConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(handshakeTimeout))
	if err := serverHandshake(c, a.token); err != nil {
		a.log.Warn("sandbox agent: connection refused", "remote", c.RemoteAddr().String(), "err", err)
		return
	}
	c.SetDeadline(time.Time{})
	sess, err := yamux.Server(c, yamuxConfig())
	if err != nil {
		return
	}
	stop := context.AfterFunc(ctx, func() { sess.Close() })
	defer stop()
	a.tun.set(sess) // the latest node gets the tunnelled connections
	defer a.tun.unset(sess)
	a.log.Info("sandbox agent: node connected", "remote", c.RemoteAddr().String())
	var wg sync.WaitGroup
	for {
		st, err := sess.AcceptStream()
		if err != nil {
			break
		}
		wg.Add(1)
		go func() { defer wg.Done(); a.serveStream(ctx, st) }()
	}
	sess.Close()
	wg.Wait()
	a.log.Info("sandbox agent: node disconnected", "remote", c.RemoteAddr().String())
}

// frameWriter serialises the frames several goroutines write to a stream.
type frameWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (f *frameWriter) write(t byte, p []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return writeFrame(f.w, t, p)
}

func (f *frameWriter) writeJSON(t byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return f.write(t, b)
}

// dataWriter turns writes into frames of one type (a process's stdout).
type dataWriter struct {
	fw *frameWriter
	t  byte
}

func (d dataWriter) Write(p []byte) (int, error) {
	if err := d.fw.write(d.t, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// gatedWriter holds writes until ready is closed.
type gatedWriter struct {
	ready <-chan struct{}
	w     io.Writer
}

func (g gatedWriter) Write(p []byte) (int, error) {
	<-g.ready
	return g.w.Write(p)
}

// exitMsg is the payload of an exit frame.
type exitMsg struct {
	Result sandbox.Result `json:"result"`
	Err    string         `json:"err,omitempty"`
}

// startedMsg is the payload of a started frame.
type startedMsg struct {
	Pid int `json:"pid"`
}

func (a *agent) serveStream(ctx context.Context, st net.Conn) {
	defer st.Close()
	fw := &frameWriter{w: st}
	st.SetReadDeadline(time.Now().Add(handshakeTimeout))
	t, p, err := readFrame(st, nil)
	if err != nil || t != frameHeader {
		return
	}
	st.SetReadDeadline(time.Time{})
	req, err := parseRequest(p)
	if err != nil {
		fw.write(frameFail, []byte(err.Error()))
		return
	}
	switch req.Op {
	case "exec", "start", "pty":
		a.runCommand(ctx, st, fw, req)
	case "dial":
		a.dial(ctx, st, fw, req)
	case "killall":
		a.reply(fw, nil, a.ws.KillAll())
	case "usage":
		u, err := a.usage()
		a.reply(fw, u, err)
	}
}

// reply answers a request with an ok frame (JSON of v) or a fail frame.
func (a *agent) reply(fw *frameWriter, v any, err error) {
	if err != nil {
		fw.write(frameFail, []byte(err.Error()))
		return
	}
	fw.writeJSON(frameOK, v)
}

// opContext bounds an operation by the caller's remaining deadline.
func opContext(ctx context.Context, req request) (context.Context, context.CancelFunc) {
	if req.DeadlineMS > 0 {
		return context.WithTimeout(ctx, time.Duration(req.DeadlineMS)*time.Millisecond)
	}
	return context.WithCancel(ctx)
}

// command builds the sandbox.Cmd of a request. With req.Stdin, cmd.Stdin
// is a pipe fed through the returned writer; the caller closes it.
func (a *agent) command(req request) (sandbox.Cmd, *io.PipeWriter, error) {
	dir := req.Dir
	if filepath.IsAbs(dir) {
		rel, err := filepath.Rel(a.root, dir)
		if err != nil || !filepath.IsLocal(rel) && rel != "." {
			return sandbox.Cmd{}, nil, fmt.Errorf("remote: dir %q is outside the workspace", req.Dir)
		}
		dir = rel
	}
	cmd := sandbox.Cmd{Args: req.Args, Env: req.Env, Dir: dir, OutputLimit: req.OutputLimit,
		Timeout: time.Duration(req.TimeoutMS) * time.Millisecond}
	var pw *io.PipeWriter
	if req.Stdin {
		var pr *io.PipeReader
		pr, pw = io.Pipe()
		cmd.Stdin = pr
	}
	return cmd, pw, nil
}

// control reads the node's frames of a process stream until it ends; a
// stream that goes away kills the process (through onGone).
func control(st io.Reader, stdin *io.PipeWriter, onFrame func(t byte, p []byte), onGone func()) {
	buf := make([]byte, 0, 32<<10)
	for {
		t, p, err := readFrame(st, buf)
		if err != nil {
			if stdin != nil {
				stdin.CloseWithError(io.ErrClosedPipe)
			}
			onGone()
			return
		}
		switch t {
		case frameStdin:
			if stdin != nil {
				stdin.Write(p)
			} else {
				onFrame(t, p)
			}
		case frameStdinEOF:
			if stdin != nil {
				stdin.Close()
			}
		default:
			onFrame(t, p)
		}
	}
}

// runCommand serves an exec, start or pty request: the command runs
// within the caller's deadline, its stdin pipe (if any) closed at the end.
func (a *agent) runCommand(ctx context.Context, st net.Conn, fw *frameWriter, req request) {
	ctx, cancel := opContext(ctx, req)
	defer cancel()
	if req.Op == "pty" {
		req.Stdin = false // terminal input comes as stdin frames
	}
	cmd, pw, err := a.command(req)
	if err != nil {
		fw.write(frameFail, []byte(err.Error()))
		return
	}
	if pw != nil {
		defer pw.CloseWithError(io.ErrClosedPipe)
	}
	if req.Op == "exec" {
		a.exec(ctx, cancel, st, fw, cmd, pw)
	} else {
		a.start(ctx, st, fw, req, cmd, pw)
	}
}

// exec runs cmd to its end and sends its output and result.
func (a *agent) exec(ctx context.Context, cancel context.CancelFunc, st net.Conn, fw *frameWriter, cmd sandbox.Cmd, pw *io.PipeWriter) {
	go control(st, pw, func(t byte, _ []byte) {
		if t == frameKill {
			cancel()
		}
	}, cancel)
	res, err := a.ws.Exec(ctx, cmd)
	if err != nil {
		fw.write(frameFail, []byte(err.Error()))
		return
	}
	if len(res.Stdout) > 0 && fw.write(frameStdout, res.Stdout) != nil {
		return
	}
	if len(res.Stderr) > 0 && fw.write(frameStderr, res.Stderr) != nil {
		return
	}
	res.Stdout, res.Stderr = nil, nil
	fw.writeJSON(frameExit, exitMsg{Result: res})
}

// start starts cmd (on a terminal for a pty request), streams its output and
// relays the node's input, signals and resizes until it exits.
func (a *agent) start(ctx context.Context, st net.Conn, fw *frameWriter, req request, cmd sandbox.Cmd, pw *io.PipeWriter) {
	pty := req.Op == "pty"
	var p *sandbox.Process
	var err error
	started := make(chan struct{}) // output frames wait for the started frame
	if pty {
		p, err = a.ws.StartPTY(ctx, cmd, req.Rows, req.Cols)
	} else {
		cmd.Stdout, cmd.Stderr = gatedWriter{started, dataWriter{fw, frameStdout}}, gatedWriter{started, dataWriter{fw, frameStderr}}
		p, err = a.ws.Start(ctx, cmd)
	}
	if err != nil {
		close(started)
		fw.write(frameFail, []byte(err.Error()))
		return
	}
	defer p.Close()
	if fw.writeJSON(frameStarted, startedMsg{Pid: p.Pid()}) != nil {
		p.Kill()
	}
	close(started)
	ptyDone := make(chan struct{})
	if pty {
		go func() {
			defer close(ptyDone)
			io.Copy(dataWriter{fw, frameStdout}, p)
		}()
	} else {
		close(ptyDone)
	}
	go control(st, pw, func(t byte, b []byte) {
		switch t {
		case frameStdin: // terminal input
			p.Write(b)
		case frameResize:
			if rows, cols, err := parseResize(b); err == nil {
				p.Resize(rows, cols)
			}
		case frameSignal:
			if len(b) == 1 && b[0] > 0 && b[0] < 65 {
				p.Signal(signalOf(b[0]))
			}
		case frameKill:
			p.Kill()
		}
	}, func() { p.Kill() })
	res, werr := p.Wait()
	select {
	case <-ptyDone:
	case <-time.After(ptyGrace):
	}
	msg := exitMsg{Result: res}
	if werr != nil {
		msg.Err = werr.Error()
	}
	fw.writeJSON(frameExit, msg)
}

// dial connects to an address inside the pod and then relays raw bytes.
func (a *agent) dial(ctx context.Context, st net.Conn, fw *frameWriter, req request) {
	if err := checkDialAddr(req.Network, req.Addr, podAddrs); err != nil {
		fw.write(frameFail, []byte(err.Error()))
		return
	}
	dctx, cancel := opContext(ctx, req)
	c, err := a.ws.DialContext(dctx, req.Network, req.Addr)
	cancel()
	if err != nil {
		fw.write(frameFail, []byte(err.Error()))
		return
	}
	defer c.Close()
	if fw.write(frameOK, nil) != nil {
		return
	}
	done := make(chan struct{})
	go func() {
		io.Copy(c, st)
		if tc, ok := c.(*net.TCPConn); ok {
			tc.CloseWrite()
		} else {
			c.Close()
		}
		close(done)
	}()
	io.Copy(st, c)
	st.Close() // our half: the node reads EOF
	<-done
}

// podAddrs lists the IP addresses of this machine's interfaces.
func podAddrs() []net.IP {
	var ips []net.IP
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			ips = append(ips, n.IP)
		}
	}
	return ips
}

// checkDialAddr admits TCP addresses inside the pod only: "localhost", a
// loopback IP or one of the pod's own IPs.
func checkDialAddr(network, addr string, own func() []net.IP) error {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return fmt.Errorf("remote: network %q not supported", network)
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return fmt.Errorf("remote: %q: only localhost or an IP address of the workspace", host)
	}
	if ip.IsLoopback() {
		return nil
	}
	for _, o := range own() {
		if o.Equal(ip) {
			return nil
		}
	}
	return fmt.Errorf("remote: %s is not an address of the workspace", ip)
}
