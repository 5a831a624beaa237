package collab_test

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"ecode/internal/collab"
	"ecode/internal/store"
	"ecode/internal/testutil"
	"ecode/internal/testutil/testdb"
)

// The tests below lose a relayed update in each of the ways Redis relaying
// can, with the periodic catch-up off (CatchUpEvery: an hour), and make it
// the last edit: no later update reveals a gap in the sequence numbers.
// The other node's client must still get it.

// relayPair is two hubs on one store and Redis, with the room of path open
// on both (a on node 1, b on node 2) and the nodes knowing each other.
type relayPair struct {
	e      *env
	h1, h2 *collab.Hub
	a, b   *client
	path   string
	prefix string
}

func newRelayPair(t *testing.T, st *store.Store, path string, o1, o2 collab.Options) *relayPair {
	e := newEnv(t, st)
	e.write(path, "")
	p := &relayPair{e: e, path: path, prefix: "ecodetest:" + randomID() + ":"}
	for _, o := range []*collab.Options{&o1, &o2} {
		if o.Redis == nil {
			o.Redis = testdb.Redis(t)
		}
		o.RedisPrefix, o.CatchUpEvery, o.OnPeers, o.MessageRate, o.MessageBurst = p.prefix, time.Hour, e.signal, 1e6, 1e6
		o.OnDropped = e.signal
	}
	p.h1, _ = e.hub(o1)
	p.h2, _ = e.hub(o2)
	p.a = e.connect(p.h1, path, true)
	p.b = e.connect(p.h2, path, true)
	peers := func(h *collab.Hub) int { n, _ := h.Peers(e.project, path); return n }
	e.waitUntil("the nodes to know each other", func() bool { return peers(p.h1) == 1 && peers(p.h2) == 1 })
	p.a.insert(0, "x")
	e.converge("x", p.a, p.b)
	return p
}

func (p *relayPair) channel() string { return p.prefix + "collab:" + p.e.project + ":" + p.path }

// A room whose inbox is full when a relayed update comes drops it, and
// reads the log once it gets to it: here node 2's room is held (in its
// OnLogged) while node 1 relays more updates than its inbox holds.
func TestFullInboxReadsTheLog(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		var gate atomic.Pointer[chan struct{}]
		held := make(chan struct{}, 1)
		o2 := collab.Options{OnLogged: func(int, time.Duration) {
			if g := gate.Load(); g != nil {
				held <- struct{}{}
				<-*g
			}
		}}
		p := newRelayPair(t, st, "inbox.txt", collab.Options{}, o2)
		release := make(chan struct{})
		gate.Store(&release)
		defer func() {
			if gate.Swap(nil) != nil {
				close(release)
			}
		}()
		p.b.insert(1, "b") // node 2 logs it and stays in OnLogged
		<-held
		const edits, inbox = 1100, 1024
		for range edits {
			p.a.insert(0, "a")
		}
		// Node 2 can take at most inbox of them: once it has dropped the
		// rest, the last one is among them, and nothing follows it.
		t.Cleanup(func() {
			if t.Failed() { // what each side saw, for a failure that does not reproduce
				in2, pub2 := p.h2.Dropped()
				u1, _, _ := p.h1.Published()
				t.Logf("node 1 published %d updates; node 2 dropped %d at its inbox, %d publishes", u1, in2, pub2)
			}
		})
		p.e.waitUntil("node 2 to drop the updates its inbox has no space for", func() bool {
			n, _ := p.h2.Dropped()
			return n >= edits-inbox
		})
		gate.Store(nil)
		close(release)
		want := strings.Repeat("a", edits) + "xb"
		p.e.converge(want, p.a, p.b)
		if n, _ := p.h1.Dropped(); n != 0 {
			t.Errorf("node 1 dropped %d messages", n)
		}
	})
}

// A Redis subscription lost and started again by go-redis on a new
// connection loses what was published meanwhile: every room of the node
// reads the log after it. Node 2's subscription connection is killed
// (CLIENT KILL) and its new one held (the dialer waits) while node 1
// publishes an edit.
func TestResubscribeReadsTheLog(t *testing.T) {
	rc := testdb.Redis(t)
	c2 := newHeldRedis(t)
	p := newRelayPair(t, testutil.NewStore(t, store.SQLite), "resub.txt", collab.Options{}, collab.Options{Redis: c2.Client})

	// a witness sees node 1's publish reach Redis
	ctx := context.Background()
	witness := rc.Subscribe(ctx, p.channel())
	defer witness.Close()
	if _, err := witness.Receive(ctx); err != nil {
		t.Fatal(err)
	}

	c2.hold()
	defer c2.release()
	killClient(t, rc, c2.name, "pubsub")
	<-c2.dialing // node 2 is reconnecting, held
	p.a.insert(1, "Z")
	for {
		m, err := witness.ReceiveMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Payload) > 0 && m.Payload[0] == 1 { // busUpdate
			break
		}
	}
	c2.release()
	p.e.converge("xZ", p.a, p.b)
	if n := p.h2.Resubscribes(); n != 1 {
		t.Errorf("node 2 counted %d resubscriptions, want 1", n)
	}
}

// An update node 1 cannot publish (Redis fails) makes it tell the other
// nodes to read the log once Redis answers again. Node 1's connections
// for commands are killed and new ones held (the dialer waits) until the
// publish has failed.
func TestFailedPublishIsAnnounced(t *testing.T) {
	rc := testdb.Redis(t)
	c1 := newHeldRedis(t)
	p := newRelayPair(t, testutil.NewStore(t, store.SQLite), "pub.txt", collab.Options{Redis: c1.Client}, collab.Options{})

	c1.hold()
	defer c1.release()
	killClient(t, rc, c1.name, "normal")
	p.a.insert(1, "Z")
	p.e.waitUntil("node 1 to fail to publish a's edit", func() bool {
		_, n := p.h1.Dropped()
		return n > 0
	})
	c1.release()
	p.e.converge("xZ", p.a, p.b)
}

// heldRedis is a client of the test Redis, named, whose new connections
// wait while it is held.
type heldRedis struct {
	*redis.Client
	name    string
	gate    atomic.Pointer[chan struct{}]
	dialing chan struct{} // a connection waits
}

func newHeldRedis(t *testing.T) *heldRedis {
	opt, err := redis.ParseURL(testdb.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	c := &heldRedis{name: "ecodetest-" + randomID(), dialing: make(chan struct{}, 1)}
	opt.ClientName = c.name
	opt.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if g := c.gate.Load(); g != nil {
			select {
			case c.dialing <- struct{}{}:
			default:
			}
			select {
			case <-*g:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	c.Client = redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	t.Cleanup(c.release)
	return c
}

func (c *heldRedis) hold() {
	g := make(chan struct{})
	c.gate.Store(&g)
}

func (c *heldRedis) release() {
	if g := c.gate.Swap(nil); g != nil {
		close(*g)
	}
}

// killClient closes the connections of a Redis client by name, of a type
// (pubsub, normal).
func killClient(t *testing.T, rc *redis.Client, name, typ string) {
	t.Helper()
	ctx := context.Background()
	list, err := rc.Do(ctx, "CLIENT", "LIST", "TYPE", typ).Text()
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for _, line := range strings.Split(list, "\n") {
		var id string
		named := false
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "id="); ok {
				id = v
			}
			if f == "name="+name {
				named = true
			}
		}
		if named && id != "" {
			if err := rc.Do(ctx, "CLIENT", "KILL", "ID", id).Err(); err != nil {
				t.Fatal(err)
			}
			killed++
		}
	}
	if killed == 0 {
		t.Fatalf("no %s connection of %s to kill", typ, name)
	}
}
