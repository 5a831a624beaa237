package cluster_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"ecode/internal/cluster"
	"ecode/internal/store"
	"ecode/internal/testutil/testdb"
)

// hungNode is a node's internal listener on a host that stopped without
// closing its sockets (paused, partitioned): connections are accepted by
// the kernel and never answered. Each accepted connection is reported.
func hungNode(t *testing.T) (addr string, accepted <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{}, 16)
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				for _, c := range conns {
					c.Close()
				}
				return
			}
			conns = append(conns, c)
			ch <- struct{}{}
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return "http://" + ln.Addr().String(), ch
}

// A call to a node whose heartbeat is stale fails at once, without
// connecting; a call waiting on a node that goes silent meanwhile (its
// heartbeat ages on the fake clock) gives up at the next look at the
// registry, long before its own deadline; a forwarded request falls back.
func TestCallsGiveUpOnSilentNodes(t *testing.T) {
	testdb.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		a := cluster.New(st, cluster.Options{NodeID: "a", Address: "http://a", Secret: []byte("s3cret"), TTL: 15 * time.Second,
			Now: clk.Now, CallTimeout: time.Hour, WatchEvery: 10 * time.Millisecond})
		if err := a.Register(ctx); err != nil {
			t.Fatal(err)
		}
		register := func(id, addr string) cluster.Owner {
			t.Helper()
			now := clk.Now()
			if err := st.RegisterNode(ctx, store.Node{ID: id, Address: addr, StartedAt: now, HeartbeatAt: now, ExpiresAt: now.Add(15 * time.Second)}); err != nil {
				t.Fatal(err)
			}
			return cluster.Owner{NodeID: id, Address: addr}
		}

		// Stale before the call: not even dialled.
		addr, accepted := hungNode(t)
		stale := register("stale", addr)
		clk.Advance(11 * time.Second)
		start := time.Now()
		if err := a.Tell(ctx, stale, "/internal/x"); err == nil || !strings.Contains(err.Error(), "silent") {
			t.Fatalf("tell a silent node: %v", err)
		}
		t.Logf("a call to a silent node failed in %v", time.Since(start))
		select {
		case <-accepted:
			t.Fatal("a silent node was connected to")
		default:
		}

		// Silent during the call.
		addr, accepted = hungNode(t)
		pausing := register("pausing", addr)
		res := make(chan error, 1)
		go func() { res <- a.Tell(ctx, pausing, "/internal/x") }()
		<-accepted
		clk.Advance(11 * time.Second)
		silent := time.Now()
		select {
		case err := <-res:
			if err == nil || !strings.Contains(err.Error(), "silent") {
				t.Fatalf("tell a node that went silent: %v", err)
			}
			t.Logf("gave up %v after the node went silent", time.Since(silent))
		case <-time.After(10 * time.Second):
			t.Fatal("still waiting on a node that went silent")
		}

		// A forwarded request falls back.
		target, _ := url.Parse(pausing.Address)
		proxy := &httputil.ReverseProxy{Transport: a.Transport(),
			Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				http.Error(w, "fallback: "+err.Error(), http.StatusServiceUnavailable)
			}}
		w := httptest.NewRecorder()
		proxy.ServeHTTP(w, httptest.NewRequest("GET", "http://ide.test/api/x", nil))
		if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "fallback: node pausing is silent") {
			t.Fatalf("forwarded to a silent node: %d %s", w.Code, w.Body)
		}
	})
}
