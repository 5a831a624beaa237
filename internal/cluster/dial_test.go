//go:build linux

package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"ecode/internal/cluster"
	"ecode/internal/store"
	"ecode/internal/testutil/testdb"
)

// unansweringHost is an address where the TCP handshake never completes,
// as on a host that is switched off or cut off: a listening socket with a
// backlog of 0 whose accept queue is filled with connections nobody
// accepts. Linux then drops every further SYN (tcp_conn_request: accept
// queue full; SYN cookies do not apply), so a connect to it retransmits
// its SYN until its own deadline, deterministically, on loopback.
func unansweringHost(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	// A listening socket's TCP_INFO tells its accept queue: unacked is how
	// many connections wait in it, sacked its limit; it is full above the
	// limit. Connect one at a time, each counted in the queue before the
	// next, or the next could be the one dropped.
	queue := func() (n, limit uint32) {
		info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil {
			t.Fatal(err)
		}
		return info.Unacked, info.Sacked
	}
	for {
		n, limit := queue()
		if n > limit {
			return "http://" + addr
		}
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			t.Fatalf("fill the accept queue (%d of %d): %v", n, limit, err)
		}
		t.Cleanup(func() { c.Close() })
		for deadline := time.Now().Add(10 * time.Second); ; runtime.Gosched() { // the handshake's last ACK is on its way
			if m, _ := queue(); m > n {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("a connection completed but never reached the accept queue")
			}
		}
	}
}

// Connecting to a node is bounded by DialTimeout: a call to a host that
// never completes the handshake (while its heartbeat still looks fresh, or
// on an address no node advertises) fails after about DialTimeout, not
// after the call's own deadline nor the kernel's SYN retries (minutes).
func TestDialGivesUpOnAHostThatNeverAnswers(t *testing.T) {
	if b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_abort_on_overflow"); err == nil && strings.TrimSpace(string(b)) != "0" {
		t.Logf("tcp_abort_on_overflow is %s (only the handshake's last ACK is concerned, SYNs are dropped all the same)", b)
	}
	st := testdb.NewStore(t, store.SQLite)
	const dialTimeout = 200 * time.Millisecond
	a := cluster.New(st, cluster.Options{NodeID: "a", Address: "http://a", Secret: []byte("s3cret"),
		DialTimeout: dialTimeout, CallTimeout: time.Hour, WatchEvery: time.Hour})
	addr := unansweringHost(t)

	start := time.Now()
	res := make(chan error, 1)
	go func() {
		res <- a.Tell(context.Background(), cluster.Owner{NodeID: "off", Address: addr}, "/internal/x")
	}()
	select {
	case err := <-res:
		took := time.Since(start)
		var nerr net.Error
		if err == nil || !errors.As(err, &nerr) || !nerr.Timeout() || !strings.Contains(err.Error(), "dial") {
			t.Fatalf("a call to a host that never answers: %v, want a dial timeout", err)
		}
		if took < dialTimeout || took > 5*time.Second {
			t.Fatalf("the call gave up after %v, want about %v", took, dialTimeout)
		}
		t.Logf("gave up after %v: %v", took, err)
	case <-time.After(20 * time.Second):
		t.Fatalf("a call to a host that never answers still connecting after 20 s (dial timeout %v)", dialTimeout)
	}
}
