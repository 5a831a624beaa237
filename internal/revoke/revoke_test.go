package revoke_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"ecode/internal/revoke"
	"ecode/internal/testutil/testdb"
)

func TestEventMatches(t *testing.T) {
	session := revoke.Event{SessionID: "s1", UserID: "u1"}
	token := revoke.Event{TokenID: "t1", UserID: "u1"}
	member := revoke.Event{ProjectID: "p1", UserID: "u1"}
	other := revoke.Event{ProjectID: "p2", UserID: "u2"}
	cases := []struct {
		e    revoke.Event
		tag  revoke.Event
		want bool
	}{
		{revoke.Event{SessionID: "s1"}, session, true},
		{revoke.Event{SessionID: "s2"}, session, false},
		{revoke.Event{SessionID: "s1"}, member, false},
		{revoke.Event{TokenID: "t1"}, token, true},
		{revoke.Event{TokenID: "t1"}, session, false},
		{revoke.Event{UserID: "u1"}, session, true},
		{revoke.Event{UserID: "u1"}, token, true},
		{revoke.Event{UserID: "u1"}, member, true},
		{revoke.Event{UserID: "u1"}, other, false},
		{revoke.Event{ProjectID: "p1", UserID: "u1"}, member, true},
		{revoke.Event{ProjectID: "p1", UserID: "u2"}, member, false},
		{revoke.Event{ProjectID: "p1"}, member, true},
		{revoke.Event{ProjectID: "p1"}, session, false},
		{revoke.Event{}, other, true},
	}
	for _, c := range cases {
		if got := c.e.Matches(c.tag); got != c.want {
			t.Errorf("%+v matches %+v = %v, want %v", c.e, c.tag, got, c.want)
		}
	}
}

func TestCacheDropsWhatEventsMatch(t *testing.T) {
	bus := revoke.NewLocal()
	c := revoke.NewCache[string](bus, time.Hour, 10)
	_, gen, _ := c.Get("a")
	c.Put("a", revoke.Event{SessionID: "s1", UserID: "u1"}, "A", gen)
	c.Put("b", revoke.Event{ProjectID: "p1", UserID: "u2"}, "B", gen)
	if v, _, ok := c.Get("a"); !ok || v != "A" {
		t.Fatalf("get a = %q, %v", v, ok)
	}
	bus.Publish(context.Background(), revoke.Event{UserID: "u1"})
	if _, _, ok := c.Get("a"); ok {
		t.Error("a session of a changed account is still cached")
	}
	if _, _, ok := c.Get("b"); !ok {
		t.Error("another user's membership was dropped")
	}
	// A value read before an event is not cached after it.
	_, gen, _ = c.Get("c")
	bus.Publish(context.Background(), revoke.Event{ProjectID: "p9"})
	c.Put("c", revoke.Event{ProjectID: "p1", UserID: "u3"}, "C", gen)
	if _, _, ok := c.Get("c"); ok {
		t.Error("a value read before an event was cached after it")
	}
}

func TestCacheExpires(t *testing.T) {
	c := revoke.NewCache[string](revoke.NewLocal(), 0, 10)
	_, gen, _ := c.Get("a")
	c.Put("a", revoke.Event{UserID: "u"}, "A", gen)
	if _, _, ok := c.Get("a"); ok {
		t.Error("a cache with no lifetime answered")
	}
}

// Two buses on one Redis: an event published on one is applied on the
// other before Publish returns.
func TestRedisBusAppliesEverywhereBeforeReturning(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	prefix := "ecodetest:" + t.Name() + ":" + time.Now().Format("150405.000000000") + ":"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var buses []*revoke.Bus
	var caches []*revoke.Cache[string]
	for range 2 {
		b := revoke.NewRedis(testdb.Redis(t), prefix, 5*time.Second, log)
		done := make(chan struct{})
		go func() { defer close(done); b.Run(ctx) }()
		defer func() { cancel(); <-done }()
		<-b.Subscribed()
		c := revoke.NewCache[string](b, time.Hour, 10)
		_, gen, _ := c.Get("k")
		c.Put("k", revoke.Event{TokenID: "t1"}, "v", gen)
		buses, caches = append(buses, b), append(caches, c)
	}
	if _, _, ok := caches[1].Get("k"); !ok {
		t.Fatal("the cache on node B does not answer while its bus is healthy")
	}
	if err := buses[0].Publish(ctx, revoke.Event{TokenID: "t1"}); err != nil {
		t.Fatal(err)
	}
	for i, c := range caches {
		if _, _, ok := c.Get("k"); ok {
			t.Errorf("node %d still has the revoked token when Publish returned", i)
		}
	}
}

// An event published while this node cannot reach Redis (the other node
// can, and never noticed) reaches the other node once Redis is back.
func TestRedisBusPublishesAgainOnceRedisIsBack(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	prefix := "ecodetest:" + t.Name() + ":" + time.Now().Format("150405.000000000") + ":"
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })

	direct := testdb.Redis(t)
	relay := testdb.NewRedisRelay(t)
	opt := *direct.Options()
	opt.Addr = relay.Addr()
	viaRelay := redis.NewClient(&opt)
	t.Cleanup(func() { viaRelay.Close() })

	a := revoke.NewRedis(viaRelay, prefix, 5*time.Second, log)
	b := revoke.NewRedis(direct, prefix, 5*time.Second, log)
	got := make(chan revoke.Event, 16)
	b.Handle(func(e revoke.Event) {
		if e.ProjectID != "" {
			got <- e
		}
	})
	for _, bus := range []*revoke.Bus{a, b} {
		wg.Go(func() { bus.Run(ctx) })
		<-bus.Subscribed()
	}

	healthy, changed := a.Watch()
	if !healthy {
		t.Fatal("a subscribed bus is not healthy")
	}
	relay.Cut()
	select {
	case <-changed: // the subscription broke
	case <-time.After(30 * time.Second):
		t.Fatal("the bus did not notice Redis was cut")
	}
	if healthy, _ := a.Watch(); healthy {
		t.Fatal("the bus is healthy with Redis unreachable")
	}
	if err := a.Publish(ctx, revoke.Event{ProjectID: "p"}); err == nil {
		t.Fatal("published through a cut connection")
	}
	relay.Restore()
	select {
	case e := <-got:
		if e.ProjectID != "p" {
			t.Fatalf("node B got %+v", e)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the event published while Redis was unreachable never reached node B")
	}
}
