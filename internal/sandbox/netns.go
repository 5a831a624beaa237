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
	var c net.Conn
	err = inNetns(netns, func() (err error) {
		var d net.Dialer
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	if err != nil && c != nil {
		c.Close()
		return nil, err
	}
	return c, err
}

// ListenInNetns opens a listener inside the network namespace netns (for
// example one a NetworkSetup hook receives). The listener keeps the
// namespace alive until it is closed.
func ListenInNetns(netns *os.File, network, addr string) (net.Listener, error) {
	var l net.Listener
	err := inNetns(netns, func() (err error) {
		l, err = net.Listen(network, addr)
		return err
	})
	if err != nil && l != nil {
		l.Close()
		return nil, err
	}
	return l, err
}

// inNetns runs fn on an OS thread that joins netns for the call, so the
// sockets fn creates belong to netns. The thread returns to the host's
// namespace before it is released; if that fails it stays locked and Go
// discards it when the goroutine ends. fn runs in a goroutine of its own.
func inNetns(netns *os.File, fn func() error) error {
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			ch <- err
			return
		}
		defer orig.Close()
		if err := unix.Setns(int(netns.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- fmt.Errorf("sandbox: setns: %w", err)
			return
		}
		ferr := fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- fmt.Errorf("sandbox: restore netns: %w (after: %v)", err, ferr)
			return
		}
		runtime.UnlockOSThread()
		ch <- ferr
	}()
	return <-ch
}
