package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/yamux"

	"ecode/internal/sandbox"
)

// ErrConnLost is the error of operations whose connection to the agent
// dropped; the Workspace dials again at once in the background (and at
// the next call).
var ErrConnLost = errors.New("remote: connection to the workspace agent lost")

// deadlineGrace is how long past the caller's deadline the node waits for
// the agent's answer (the agent enforces the deadline itself).
const deadlineGrace = 10 * time.Second

// Workspace is the node's side of a workspace served by an agent. It
// implements sandbox.Workspace over one authenticated, multiplexed
// connection, dialled again when it drops.
type Workspace struct {
	id, addr, token string

	actMu    sync.Mutex
	activity time.Time

	mu      sync.Mutex
	sess    *yamux.Session
	closed  bool
	tunnels map[string]*tunnelListener // by in-pod address (Listen)

	stopWatch context.CancelFunc // ends watch
	watchDone chan struct{}      // closed when watch returned
}

// Redial backoff of the watch after a dropped connection.
const (
	redialMin = 100 * time.Millisecond
	redialMax = 10 * time.Second
)

var _ sandbox.Workspace = (*Workspace)(nil)

// Dial connects to the agent of workspace id at addr and authenticates with
// token.
func Dial(ctx context.Context, id, addr, token string) (*Workspace, error) {
	w := &Workspace{id: id, addr: addr, token: token, watchDone: make(chan struct{})}
	w.touch()
	sess, err := w.session(ctx)
	if err != nil {
		return nil, err
	}
	wctx, stop := context.WithCancel(context.Background())
	w.stopWatch = stop
	go w.watch(wctx, sess)
	return w, nil
}

// watch dials the agent again whenever the connection drops, without
// waiting for the next operation, so that the tunnels (egress proxy,
// database proxy) come back on their own; failed dials are retried with
// backoff. It returns when ctx ends (Close).
func (w *Workspace) watch(ctx context.Context, sess *yamux.Session) {
	defer close(w.watchDone)
	for {
		select {
		case <-sess.CloseChan():
		case <-ctx.Done():
			return
		}
		wait := redialMin
		for {
			next, err := w.session(ctx)
			if err == nil {
				sess = next
				break
			}
			if ctx.Err() != nil || errors.Is(err, sandbox.ErrClosed) {
				return
			}
			timer := time.NewTimer(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				timer.Stop()
				return
			}
			wait = min(2*wait, redialMax)
		}
	}
}

// ID is the workspace id.
func (w *Workspace) ID() string { return w.id }

func (w *Workspace) touch() {
	w.actMu.Lock()
	w.activity = time.Now()
	w.actMu.Unlock()
}

// LastActivity is the time of the last command, I/O or dial.
func (w *Workspace) LastActivity() time.Time {
	w.actMu.Lock()
	defer w.actMu.Unlock()
	return w.activity
}

// session returns the open session, dialling a new one when there is none.
func (w *Workspace) session(ctx context.Context) (*yamux.Session, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil, sandbox.ErrClosed
	}
	if w.sess != nil && !w.sess.IsClosed() {
		return w.sess, nil
	}
	w.sess = nil
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", w.addr)
	if err != nil {
		return nil, fmt.Errorf("remote: workspace %s: agent %s: %w", w.id, w.addr, err)
	}
	dl := time.Now().Add(handshakeTimeout)
	if cd, ok := ctx.Deadline(); ok && cd.Before(dl) {
		dl = cd
	}
	c.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) }) // Close ends a background redial
	err = clientHandshake(c, w.token)
	if !stop() && err == nil {
		err = ctx.Err()
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("remote: workspace %s: %w", w.id, err)
	}
	c.SetDeadline(time.Time{})
	sess, err := yamux.Client(c, yamuxConfig())
	if err != nil {
		c.Close()
		return nil, err
	}
	w.sess = sess
	go w.acceptTunnels(sess)
	return sess, nil
}

// open opens a stream for req and sends its header. A session found broken
// when opening is replaced once.
func (w *Workspace) open(ctx context.Context, req request) (*yamux.Stream, *frameWriter, error) {
	if dl, ok := ctx.Deadline(); ok {
		req.DeadlineMS = max(1, time.Until(dl).Milliseconds())
	}
	hdr, err := json.Marshal(req)
	if err != nil {
		return nil, nil, err
	}
	for attempt := 0; ; attempt++ {
		sess, err := w.session(ctx)
		if err != nil {
			return nil, nil, err
		}
		st, err := sess.OpenStream()
		if err == nil {
			fw := &frameWriter{w: st}
			if err = fw.write(frameHeader, hdr); err == nil {
				w.touch()
				return st, fw, nil
			}
			st.Close()
		}
		if attempt > 0 || !sess.IsClosed() {
			return nil, nil, fmt.Errorf("%w: %v", ErrConnLost, err)
		}
	}
}

// lost wraps a stream error as ErrConnLost (unless the workspace was closed).
func (w *Workspace) lost(err error) error {
	w.mu.Lock()
	closed := w.closed
	w.mu.Unlock()
	if closed {
		return sandbox.ErrClosed
	}
	return fmt.Errorf("%w: workspace %s: %v", ErrConnLost, w.id, err)
}

// cancelOnDone sends a kill frame when ctx is cancelled (a ctx deadline is
// the agent's to enforce: it gets the time left in the header).
func cancelOnDone(ctx context.Context, fw *frameWriter) (stop func() bool) {
	return context.AfterFunc(ctx, func() {
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			fw.write(frameKill, nil)
		}
	})
}

// answerDeadline bounds the wait for the agent's answer by ctx's deadline
// plus a grace.
func answerDeadline(ctx context.Context, st *yamux.Stream) {
	if dl, ok := ctx.Deadline(); ok {
		st.SetReadDeadline(dl.Add(deadlineGrace))
	}
}

func cmdRequest(op string, cmd sandbox.Cmd) request {
	return request{Op: op, Args: cmd.Args, Env: cmd.Env, Dir: cmd.Dir, Stdin: cmd.Stdin != nil,
		TimeoutMS: cmd.Timeout.Milliseconds(), OutputLimit: cmd.OutputLimit}
}

// Exec runs a command in the pod and returns its capped output.
func (w *Workspace) Exec(ctx context.Context, cmd sandbox.Cmd) (sandbox.Result, error) {
	if len(cmd.Args) == 0 {
		return sandbox.Result{}, errors.New("sandbox: empty command")
	}
	if err := ctx.Err(); err != nil {
		return sandbox.Result{}, err
	}
	st, fw, err := w.open(ctx, cmdRequest("exec", cmd))
	if err != nil {
		return sandbox.Result{}, err
	}
	defer st.Close()
	defer cancelOnDone(ctx, fw)()
	answerDeadline(ctx, st)
	if cmd.Stdin != nil {
		go pumpStdin(fw, cmd.Stdin, w.touch)
	}
	var res sandbox.Result
	buf := make([]byte, 0, 32<<10)
	for {
		t, p, err := readFrame(st, buf)
		if err != nil {
			return sandbox.Result{ExitCode: -1}, w.lost(err)
		}
		switch t {
		case frameStdout:
			res.Stdout = append(res.Stdout, p...)
		case frameStderr:
			res.Stderr = append(res.Stderr, p...)
		case frameFail:
			return sandbox.Result{}, errors.New(string(p))
		case frameExit:
			var m exitMsg
			if err := json.Unmarshal(p, &m); err != nil {
				return sandbox.Result{ExitCode: -1}, w.lost(err)
			}
			m.Result.Stdout, m.Result.Stderr = res.Stdout, res.Stderr
			w.touch()
			if m.Err != "" {
				return m.Result, errors.New(m.Err)
			}
			return m.Result, nil
		}
	}
}

// Start starts a command whose output streams to cmd.Stdout/cmd.Stderr.
func (w *Workspace) Start(ctx context.Context, cmd sandbox.Cmd) (*sandbox.Process, error) {
	return w.start(ctx, cmd, cmdRequest("start", cmd))
}

// StartPTY starts cmd on a terminal in the pod.
func (w *Workspace) StartPTY(ctx context.Context, cmd sandbox.Cmd, rows, cols uint16) (*sandbox.Process, error) {
	req := cmdRequest("pty", cmd)
	req.Stdin, req.Rows, req.Cols = false, rows, cols
	return w.start(ctx, cmd, req)
}

func (w *Workspace) start(ctx context.Context, cmd sandbox.Cmd, req request) (*sandbox.Process, error) {
	if len(cmd.Args) == 0 {
		return nil, errors.New("sandbox: empty command")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	st, fw, err := w.open(ctx, req)
	if err != nil {
		return nil, err
	}
	st.SetReadDeadline(time.Now().Add(handshakeTimeout))
	t, p, err := readFrame(st, nil)
	if err != nil {
		st.Close()
		return nil, w.lost(err)
	}
	var m startedMsg
	if t != frameStarted || json.Unmarshal(p, &m) != nil {
		st.Close()
		if t == frameFail {
			return nil, errors.New(string(p))
		}
		return nil, w.lost(errFrame)
	}
	st.SetReadDeadline(time.Time{})
	answerDeadline(ctx, st)
	rp := newRemoteProcess(w, st, fw, m.Pid, req.Op == "pty")
	stop := cancelOnDone(ctx, fw)
	go func() { <-rp.done; stop() }()
	if req.Op != "pty" && cmd.Stdin != nil {
		go pumpStdin(fw, cmd.Stdin, w.touch)
	}
	go rp.readLoop(cmd.Stdout, cmd.Stderr)
	return sandbox.NewExternal(rp), nil
}

// DialContext connects to addr inside the pod (host part: "localhost", a
// loopback IP or an IP of the pod).
func (w *Workspace) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	// Host names are refused here; the agent checks IPs against the pod's.
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(host, "localhost") && net.ParseIP(host) == nil {
		return nil, fmt.Errorf("remote: %q: only localhost or an IP address of the workspace", host)
	}
	st, _, err := w.open(ctx, request{Op: "dial", Network: network, Addr: addr})
	if err != nil {
		return nil, err
	}
	answerDeadline(ctx, st)
	t, p, err := readFrame(st, nil)
	if err != nil {
		st.Close()
		return nil, w.lost(err)
	}
	if t != frameOK {
		st.Close()
		if t == frameFail {
			return nil, errors.New(string(p))
		}
		return nil, w.lost(errFrame)
	}
	st.SetReadDeadline(time.Time{})
	return &activeConn{Conn: st, touch: w.touch}, nil
}

// activeConn records activity on every read and write.
type activeConn struct {
	net.Conn
	touch func()
}

func (c *activeConn) Read(b []byte) (int, error)  { c.touch(); return c.Conn.Read(b) }
func (c *activeConn) Write(b []byte) (int, error) { c.touch(); return c.Conn.Write(b) }

// call runs a request without a process and decodes its ok frame into v.
func (w *Workspace) call(op string, v any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, _, err := w.open(ctx, request{Op: op})
	if err != nil {
		return err
	}
	defer st.Close()
	answerDeadline(ctx, st)
	t, p, err := readFrame(st, nil)
	if err != nil {
		return w.lost(err)
	}
	switch {
	case t == frameFail:
		return errors.New(string(p))
	case t != frameOK:
		return w.lost(errFrame)
	case v != nil:
		return json.Unmarshal(p, v)
	}
	return nil
}

// KillAll kills every process the agent runs.
func (w *Workspace) KillAll() error { return w.call("killall", nil) }

// Usage is the pod's usage as the agent measures it (see Serve).
func (w *Workspace) Usage() (sandbox.Usage, error) {
	var u sandbox.Usage
	err := w.call("usage", &u)
	return u, err
}

// Close kills every process of the agent and closes the connection; later
// calls return sandbox.ErrClosed. Deleting the pod is the runner's job.
func (w *Workspace) Close() error {
	w.stopWatch()
	<-w.watchDone
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	sess := w.sess
	w.mu.Unlock()
	var err error
	if sess != nil && !sess.IsClosed() {
		err = w.KillAll()
	}
	w.mu.Lock()
	w.closed = true
	if w.sess != nil {
		w.sess.Close()
	}
	var tunnels []*tunnelListener
	for _, l := range w.tunnels {
		tunnels = append(tunnels, l)
	}
	w.mu.Unlock()
	for _, l := range tunnels {
		l.Close()
	}
	return err
}
