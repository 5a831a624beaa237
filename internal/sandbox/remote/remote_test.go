package remote

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"ecode/internal/sandbox"
	"ecode/internal/sandbox/sandboxtest"
)

// TestMain doubles as the agent: started by sandboxtest.StartAgent, the
// test binary serves a workspace like `ecode sandbox-agent` in a pod would,
// as a separate process.
func TestMain(m *testing.M) {
	sandboxtest.AgentMain(func(ctx context.Context, ln net.Listener, root, token string) error {
		var tunnels []string
		if s := os.Getenv(tunnelEnv); s != "" {
			tunnels = []string{s}
		}
		return Serve(ctx, ln, ServerOptions{Root: root, Token: token, Env: []string{"ECODE_AGENT_ENV=1"}, Tunnels: tunnels,
			UID: sandboxtest.AgentUID(), Log: slog.New(slog.NewTextHandler(os.Stdout, nil))}) // Agent.Out
	})
	os.Exit(m.Run())
}

func newToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// startAgent runs an agent process on a fresh root and returns its address.
func startAgent(t *testing.T, token string) string {
	t.Helper()
	a := sandboxtest.StartAgent(t)
	a.Token(token)
	return a.Addr
}

func dialT(t *testing.T, addr, token string) *Workspace {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w, err := Dial(ctx, "ws-"+strings.ReplaceAll(t.Name(), "/", "_"), addr, token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// TestSuite runs the behaviour every backend shares against an agent in
// its own process.
func TestSuite(t *testing.T) {
	sandboxtest.Run(t, func(t *testing.T, _ sandbox.Limits) sandbox.Workspace {
		tok := newToken()
		return dialT(t, startAgent(t, tok), tok)
	}, sandboxtest.Caps{})
}

func TestAgentEnvironment(t *testing.T) {
	tok := newToken()
	w := dialT(t, startAgent(t, tok), tok)
	env := string(sandboxtest.Sh(t, w, "env").Stdout)
	if !strings.Contains(env, "ECODE_AGENT_ENV=1\n") {
		t.Fatalf("ServerOptions.Env missing from %q", env)
	}
	if strings.Contains(env, tok) || strings.Contains(env, "ECODE_TEST_AGENT") {
		t.Fatalf("the agent's own environment leaked into a command: %q", env)
	}
	if _, err := w.Exec(context.Background(), sandbox.Cmd{Args: []string{"true"}, Dir: "/etc"}); err == nil {
		t.Fatal("a dir outside the root: want an error")
	}
	u, err := w.Usage()
	if err != nil || u.DiskTotalBytes <= 0 {
		t.Fatalf("usage: %+v %v", u, err)
	}
}

func TestWrongToken(t *testing.T) {
	tok := newToken()
	addr := startAgent(t, tok)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := Dial(ctx, "w", addr, "wrong-"+tok); !errors.Is(err, ErrAuth) {
		t.Fatalf("wrong token: got %v, want ErrAuth", err)
	}
	// Bytes that are not the protocol are refused too.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, strings.Repeat("GET / HTTP/1.1\r\n", 8))
	if b, _ := io.ReadAll(c); len(b) != 0 { // the agent closes (or resets) without a word
		t.Fatalf("agent answered a stranger: %q", b)
	}
	c.Close()
	w := dialT(t, addr, tok) // the agent still serves the right token
	if res := sandboxtest.Sh(t, w, "echo ok"); string(res.Stdout) != "ok\n" {
		t.Fatalf("after a refused connection: %+v", res)
	}
}

// cutProxy forwards connections to an agent and can cut them all.
type cutProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
	return p
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// tunnelEnv gives the agent process one --tunnel address.
const tunnelEnv = "ECODE_TEST_AGENT_TUNNEL"

// A tunnel works again after the connection to the agent dropped: the
// node dials the agent again on its own, without any operation; the
// tunnel stops, and the node stops dialling, when the workspace closes.
func TestTunnelAfterConnectionLost(t *testing.T) {
	tok := newToken()
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a free port for the in-pod listener
	if err != nil {
		t.Fatal(err)
	}
	inPod := ln.Addr().String()
	ln.Close()
	a := sandboxtest.StartAgent(t, tunnelEnv+"="+inPod)
	a.Token(tok)
	proxy := newCutProxy(t, a.Addr)
	w := dialT(t, proxy.ln.Addr().String(), tok)
	l := w.Listen(inPod)
	roundTrip := func(msg string) {
		t.Helper()
		c, err := net.Dial("tcp", inPod)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, msg)
		accepted := make(chan net.Conn, 1)
		go func() {
			if got, err := l.Accept(); err == nil {
				accepted <- got
			}
		}()
		var got net.Conn
		select {
		case got = <-accepted:
		case <-time.After(15 * time.Second):
			t.Fatalf("%s: the in-pod connection never reached the node", msg)
		}
		defer got.Close()
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(got, buf); err != nil || string(buf) != msg {
			t.Fatalf("through the tunnel: %q %v", buf, err)
		}
		io.WriteString(got, "pong")
		if _, err := io.ReadFull(c, buf[:4]); err != nil || string(buf[:4]) != "pong" {
			t.Fatalf("back through the tunnel: %q %v", buf[:4], err)
		}
	}
	sandboxtest.WaitLine(t, a.Out.C, "node connected") // Dial's connection
	roundTrip("before")
	proxy.cut()
	// No call on w: the node dials again by itself; the agent says so once
	// it took the new connection for its tunnels.
	sandboxtest.WaitLine(t, a.Out.C, "node connected")
	roundTrip("after the drop")
	w.Close()
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v", err)
	}
	select { // Close waits for the redialling goroutine
	case <-w.watchDone:
	default:
		t.Fatal("the workspace's redial goroutine outlived Close")
	}
}

func TestConnectionLost(t *testing.T) {
	tok := newToken()
	proxy := newCutProxy(t, startAgent(t, tok))
	w := dialT(t, proxy.ln.Addr().String(), tok)
	out := sandboxtest.NewLineWriter()
	p, err := w.Start(context.Background(), sandbox.Cmd{Args: []string{"sh", "-c", "echo up; exec sleep 100"}, Stdout: out})
	if err != nil {
		t.Fatal(err)
	}
	sandboxtest.WaitLine(t, out.C, "up")
	proxy.cut()
	if _, err := p.Wait(); !errors.Is(err, ErrConnLost) {
		t.Fatalf("Wait after the connection dropped: %v, want ErrConnLost", err)
	}
	// The next call dials again.
	res := sandboxtest.Sh(t, w, "echo back")
	if string(res.Stdout) != "back\n" {
		t.Fatalf("after reconnect: %+v", res)
	}
	// The agent kills the process of the lost stream when it notices the
	// drop: wait for that process to exit (tail --pid returns when it has),
	// within a timeout.
	gone, err := w.Exec(context.Background(), sandbox.Cmd{Args: []string{"tail", fmt.Sprintf("--pid=%d", p.Pid()), "-s", "0.05", "-f", "/dev/null"}, Timeout: 10 * time.Second})
	if err != nil || gone.ExitCode != 0 {
		t.Fatalf("the process of a lost connection still runs: %+v %v", gone, err)
	}
}

func TestHandshake(t *testing.T) {
	for _, tc := range []struct {
		node, agent string
		ok          bool
	}{{"s3cret", "s3cret", true}, {"s3cret", "other", false}} {
		a, b := net.Pipe()
		serr := make(chan error, 1)
		go func() { serr <- serverHandshake(b, tc.agent); b.Close() }()
		cerr := clientHandshake(a, tc.node)
		a.Close()
		if s := <-serr; (cerr == nil) != tc.ok || (tc.ok && s != nil) || (!tc.ok && s == nil && cerr == nil) {
			t.Fatalf("node %q agent %q: client %v server %v", tc.node, tc.agent, cerr, s)
		}
		if !tc.ok && !errors.Is(cerr, ErrAuth) {
			t.Fatalf("an agent without the token: %v, want ErrAuth", cerr)
		}
	}
}

func TestCheckDialAddr(t *testing.T) {
	own := func() []net.IP { return []net.IP{net.ParseIP("10.1.2.3")} }
	for addr, ok := range map[string]bool{
		"127.0.0.1:80": true, "localhost:3000": true, "[::1]:80": true, "10.1.2.3:8080": true,
		"10.1.2.4:8080": false, "example.com:80": false, "8.8.8.8:53": false, "nohost": false,
	} {
		if err := checkDialAddr("tcp", addr, own); (err == nil) != ok {
			t.Errorf("%s: %v", addr, err)
		}
	}
	if checkDialAddr("udp", "127.0.0.1:53", own) == nil {
		t.Error("udp: want an error")
	}
}
