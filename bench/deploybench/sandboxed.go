package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"ecode/bench/internal/benchsrv"
	"ecode/internal/sandbox"
)

// sandboxClient returns an HTTP client that reaches the app listening on
// port inside one of this process's production sandboxes directly: its
// connections are made in the sandbox's network namespace (as E-Code's
// router makes its own), so requests reach the very instance the router
// forwards to, without the router. close releases the namespace.
func sandboxClient(ctx context.Context, port int) (hc *http.Client, close func(), err error) {
	netns, err := sandboxNamespaces()
	if err != nil {
		return nil, nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	var found *os.File
	for _, ns := range netns {
		if found == nil {
			dctx, cancel := context.WithTimeout(ctx, time.Second)
			c, err := sandbox.DialInNetns(dctx, ns, "tcp", addr)
			cancel()
			if err == nil {
				c.Close()
				found = ns
				continue
			}
		}
		ns.Close()
	}
	if found == nil {
		return nil, nil, fmt.Errorf("no sandbox of this process listens on port %d", port)
	}
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		return sandbox.DialInNetns(ctx, found, "tcp", addr)
	}
	t := &http.Transport{MaxIdleConnsPerHost: 64, DialContext: dial}
	return &http.Client{Transport: t}, func() { t.CloseIdleConnections(); found.Close() }, nil
}

// sandboxNamespaces opens the network namespaces of this process's
// bubblewrap sandboxes: those of the children of the bwrap processes it
// started, one file per namespace.
func sandboxNamespaces() ([]*os.File, error) {
	all := benchsrv.Procs()
	bwraps := map[int]bool{}
	for _, p := range all {
		if p.PPID == os.Getpid() && p.Comm == "bwrap" {
			bwraps[p.PID] = true
		}
	}
	self, err := os.Stat("/proc/self/ns/net")
	if err != nil {
		return nil, err
	}
	var out []*os.File
	var seen []os.FileInfo
	for _, p := range all {
		if !bwraps[p.PPID] {
			continue
		}
		f, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", p.PID))
		if err != nil {
			continue
		}
		fi, err := f.Stat()
		dup := err != nil || os.SameFile(fi, self)
		for _, s := range seen {
			dup = dup || os.SameFile(fi, s)
		}
		if dup {
			f.Close()
			continue
		}
		seen = append(seen, fi)
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, errors.New("this process runs no bubblewrap sandbox with a network namespace of its own")
	}
	return out, nil
}
