//go:build linux

package sandbox

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// dialInNetns connects to addr from inside the network namespace netns.
// The socket is created on an OS thread that temporarily joins netns; the
// thread returns to the host namespace before it is released (if that
// fails, it stays locked and Go discards it when the goroutine ends).
// Only IP literals and "localhost" are accepted so that the dial runs in
// this one goroutine (no resolver, no parallel dials on other threads).
func dialInNetns(ctx context.Context, netns *os.File, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if host == "localhost" || host == "" {
		host = "127.0.0.1"
	}
	if net.ParseIP(host) == nil {
		return nil, fmt.Errorf("sandbox: dial %s: host must be an IP address or localhost", addr)
	}
	addr = net.JoinHostPort(host, port)
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{nil, err}
			return
		}
		defer orig.Close()
		if err := unix.Setns(int(netns.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- result{nil, fmt.Errorf("sandbox: setns: %w", err)}
			return
		}
		var d net.Dialer
		c, derr := d.DialContext(ctx, network, addr)
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			// Leave the thread locked: it dies with this goroutine.
			if c != nil {
				c.Close()
			}
			ch <- result{nil, fmt.Errorf("sandbox: restore netns: %w", err)}
			return
		}
		runtime.UnlockOSThread()
		ch <- result{c, derr}
	}()
	r := <-ch
	return r.c, r.err
}

// ListenInNetns opens a listener inside the network namespace netns (for
// example one a NetworkSetup hook receives), on a thread that joins netns
// only while the socket is created. The listener keeps the namespace alive
// until it is closed.
func ListenInNetns(netns *os.File, network, addr string) (net.Listener, error) {
	type result struct {
		l   net.Listener
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{nil, err}
			return
		}
		defer orig.Close()
		if err := unix.Setns(int(netns.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- result{nil, fmt.Errorf("sandbox: setns: %w", err)}
			return
		}
		l, lerr := net.Listen(network, addr)
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			if l != nil {
				l.Close()
			}
			ch <- result{nil, fmt.Errorf("sandbox: restore netns: %w", err)} // thread stays locked and dies
			return
		}
		runtime.UnlockOSThread()
		ch <- result{l, lerr}
	}()
	r := <-ch
	return r.l, r.err
}
