package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"ecode/internal/config"
)

// serveForTest runs the real server (Serve) with args and returns its address.
func serveForTest(t *testing.T, args ...string) string {
	t.Helper()
	cfg, err := config.Load("test", append([]string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--project-disk", "0"}, args...), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- Serve(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return addr
}

// slowLogin opens a connection from src that sends a login request whose
// body (announced as 100000 bytes) trickles in a byte at a time, and
// returns how long the server kept the connection open (or -1 if it was
// still open after limit).
func slowLogin(addr, src string, limit time.Duration) time.Duration {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return 0 // refused at once
	}
	defer c.Close()
	start := time.Now()
	fmt.Fprintf(c, "POST /api/auth/login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{", addr)
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		c.SetReadDeadline(start.Add(limit))
		io.Copy(io.Discard, c) // until the server closes (or the deadline)
	}()
	drip := time.NewTicker(200 * time.Millisecond)
	defer drip.Stop()
	for {
		select {
		case <-closed:
			if el := time.Since(start); el < limit {
				return el
			}
			return -1
		case <-drip.C:
			c.Write([]byte(" "))
		}
	}
}

// TestSlowBodiesKeepHealthzAnswering is the slow-body attack of issue 9 on
// a small scale: 300 connections from one address trickle login bodies.
// The server must close them (over the per-address cap at once, the rest
// at the body timeout) and /healthz, asked from another address, must
// answer throughout.
func TestSlowBodiesKeepHealthzAnswering(t *testing.T) {
	addr := serveForTest(t, "--max-conns-per-addr", "32", "--body-timeout", "1s")
	const attackers = 300
	const limit = 8 * time.Second
	held := make([]time.Duration, attackers)
	var wg sync.WaitGroup
	for i := range attackers {
		wg.Go(func() { held[i] = slowLogin(addr, "127.0.0.2", limit) })
	}
	attackDone := make(chan struct{})
	go func() { wg.Wait(); close(attackDone) }()

	hc := &http.Client{Timeout: 5 * time.Second}
	var lat []time.Duration
	probe := time.NewTicker(25 * time.Millisecond)
	defer probe.Stop()
	for done := false; !done; {
		select {
		case <-attackDone:
			done = true
		case <-probe.C:
		}
		start := time.Now()
		resp, err := hc.Get("http://" + addr + "/healthz")
		if err != nil {
			t.Fatalf("/healthz during the attack: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/healthz during the attack: %s", resp.Status)
		}
		lat = append(lat, time.Since(start))
	}
	var kept, refused int
	for i, h := range held {
		switch {
		case h < 0:
			kept++
			if kept == 1 {
				t.Errorf("attacker connection %d was still open after %v", i, limit)
			}
		case h < 500*time.Millisecond:
			refused++
		}
	}
	if kept > 0 {
		t.Errorf("%d of %d slow connections outlived the body timeout", kept, attackers)
	}
	slices.Sort(lat)
	t.Logf("%d slow connections: %d closed at once (over the cap), %d at the body timeout, %d kept; /healthz %d probes: p50 %v, p99 %v, max %v",
		attackers, refused, attackers-refused-kept, kept, len(lat), lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1])
}

// TestTotalConnectionCap: slow bodies from many addresses (none over the
// per-address cap) fill the total cap; connections beyond it are closed at
// once, those admitted at the body timeout, and then the server serves
// again: /healthz and a sign-in answer.
func TestTotalConnectionCap(t *testing.T) {
	addr := serveForTest(t, "--max-conns", "64", "--max-conns-per-addr", "32", "--body-timeout", "1s")
	const addrs, each = 30, 5 // 150 connections, 5 per address
	const limit = 8 * time.Second
	held := make([]time.Duration, addrs*each)
	var wg sync.WaitGroup
	for i := range held {
		src := fmt.Sprintf("127.0.1.%d", 1+i%addrs)
		wg.Go(func() { held[i] = slowLogin(addr, src, limit) })
	}
	wg.Wait()
	var kept, refused int
	for _, h := range held {
		switch {
		case h < 0:
			kept++
		case h < 500*time.Millisecond:
			refused++
		}
	}
	if kept > 0 {
		t.Errorf("%d slow connections outlived the body timeout", kept)
	}
	if refused < len(held)-64 {
		t.Errorf("only %d of %d connections were refused at once; the total cap is 64", refused, len(held))
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("/healthz after the attack: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz after the attack: %s", resp.Status)
	}
	t.Logf("%d slow connections from %d addresses, total cap 64: %d closed at once, %d at the body timeout", len(held), addrs, refused, len(held)-refused-kept)
}
