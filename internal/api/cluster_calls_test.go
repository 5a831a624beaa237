package api_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"ecode/internal/api"
	"ecode/internal/cluster"
	"ecode/internal/deploy"
	"ecode/internal/domains"
	"ecode/internal/errtrack"
	"ecode/internal/live"
	"ecode/internal/revoke"
	"ecode/internal/store"
	"ecode/internal/telemetry"
	"ecode/internal/testutil/testdb"
)

// A quota stop calls the nodes running the account's projects at once:
// a node that accepts the connection and never answers (a paused host
// whose heartbeat is still fresh) does not hold up stopping the runs on a
// live node, although its project comes first and its call has no
// deadline to speak of here.
func TestQuotaStopsDoNotWaitOnADeadNode(t *testing.T) {
	testdb.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Now()
		register := func(id, addr string) {
			t.Helper()
			if err := st.RegisterNode(ctx, store.Node{ID: id, Address: addr, StartedAt: now, HeartbeatAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		stops := make(chan string, 8)
		liveNode := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			stops <- r.URL.Path
			w.WriteHeader(http.StatusNoContent)
		}))
		t.Cleanup(liveNode.Close)
		register("live", liveNode.URL)
		dead, release := pausedHost(t)
		register("dead", dead)

		if _, err := st.CreateUser(ctx, store.User{ID: "u", Email: "u@x.test", Name: "u", PasswordHash: "h", CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		ids := []string{"p-dead", "p1", "p2", "p3"}
		for _, id := range ids {
			if _, err := st.CreateProject(ctx, store.Project{ID: id, Name: id, OwnerID: "u", CreatedAt: now, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
			node := "live"
			if id == "p-dead" {
				node = "dead"
			}
			if ok, err := st.TakeProjectLease(ctx, id, node, nil, now, now.Add(time.Hour)); err != nil || !ok {
				t.Fatalf("lease %s: %v %v", id, ok, err)
			}
		}
		c := cluster.New(st, cluster.Options{NodeID: "a", Address: "http://a", Secret: []byte("s3cret"), CallTimeout: time.Hour})
		log := slog.New(slog.DiscardHandler)
		a := api.New(api.Deps{Store: st, Cluster: c, Metrics: telemetry.New(), Live: live.New(), Revoke: revoke.NewLocal(), Log: log, Now: time.Now,
			Domains: domains.New(domains.Options{}), Deploy: deploy.New(deploy.Deps{}, deploy.Options{AppsDomain: "apps.localhost"}),
			Errors: errtrack.New(st, time.Now, log, errtrack.Options{})}, api.Options{})

		res := make(chan []api.Outcome, 1)
		go func() { res <- a.StopRuns(ctx, ids, "quota") }()
		for range 3 {
			select {
			case <-stops:
			case <-time.After(20 * time.Second):
				t.Fatal("the live node's runs wait for the dead node")
			}
		}
		release() // the dead node's connection drops: its call ends
		out := <-res
		if out[0].ProjectID != "p-dead" || out[0].Err == nil {
			t.Errorf("the dead node's project: %+v", out[0])
		}
		for _, o := range out[1:] {
			if !o.Done || o.Err != nil {
				t.Errorf("a live node's project: %+v", o)
			}
		}
	})
}

// pausedHost is a node's internal listener whose host stopped without
// closing its sockets: connections are accepted and never answered, until
// release closes them.
func pausedHost(t *testing.T) (url string, release func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	release = func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}
	t.Cleanup(release)
	return "http://" + ln.Addr().String(), release
}
