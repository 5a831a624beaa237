package collab_test

import (
	"strings"
	"testing"
	"time"

	"ecode/internal/collab"
	"ecode/internal/store"
	"ecode/internal/testutil"
	"ecode/internal/testutil/testdb"
	"ecode/internal/yjs/protocol"
)

// A node publishes a document's updates and awareness to Redis only while
// another node has the document open; a node opening it while a client of
// the first types loses no edit, whatever the moment it opens; a node that
// closes it (busGone) is no longer published to. The periodic catch-up is off: only the relay and the
// presence protocol bring edits over; no node is dropped for silence
// (PresenceEvery is 30 s).
func TestPublishOnlyWhileAnotherNodeHasTheRoom(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.write("pub.txt", "")
		prefix := "ecodetest:" + randomID() + ":"
		opts := collab.Options{Redis: testdb.Redis(t), RedisPrefix: prefix, CatchUpEvery: time.Hour,
			OnPeers: e.signal, MessageRate: 1e6, MessageBurst: 1e6}
		h1, _ := e.hub(opts)
		h2, _ := e.hub(opts)
		peers := func(h *collab.Hub) int { n, _ := h.Peers(e.project, "pub.txt"); return n }
		a := e.connect(h1, "pub.txt", true)
		v := e.connect(h1, "pub.txt", false) // gets an update once logged: its publishing decided
		for range 20 {
			a.insert(0, "a")
		}
		sendAwareness(a, 1, "a1")
		e.converge(strings.Repeat("a", 20), a, v)
		e.waitUntil("the viewer to see a's cursor", func() bool { return awarenessOf(v, a.id) == cursor("a1") })
		if u, aw, _ := h1.Published(); u != 0 || aw != 0 {
			t.Fatalf("alone, node 1 published %d updates and %d awareness messages", u, aw)
		}

		// node 2 opens the document while a types, at a different point each round
		total, clock := 20, uint64(1)
		for round, at := range []int{0, 1, 3, 10, 40, 90, 149} {
			const edits = 150
			reached, done := make(chan struct{}), make(chan struct{})
			go func() {
				defer close(done)
				for i := range edits {
					if i == at {
						close(reached)
					}
					a.insert(0, "a")
				}
			}()
			<-reached
			b := e.connect(h2, "pub.txt", true)
			bv := e.connect(h2, "pub.txt", false)
			for range 10 {
				b.insert(0, "b")
			}
			clock++
			sendAwareness(a, clock, "a moved")
			sendAwareness(b, 1, "b")
			<-done
			total += edits + 10
			e.waitUntil("every client to have every edit", func() bool {
				for _, c := range []*client{a, v, b, bv} {
					if len(c.text()) != total {
						return false
					}
				}
				return true
			})
			e.converge(a.text(), a, v, b, bv)
			e.waitUntil("the cursors to cross", func() bool {
				return awarenessOf(bv, a.id) == cursor("a moved") && awarenessOf(v, b.id) == cursor("b")
			})
			if peers(h1) != 1 || peers(h2) != 1 {
				t.Fatalf("round %d: node 1 knows %d other nodes, node 2 %d", round, peers(h1), peers(h2))
			}
			u0, _, _ := h2.Published()
			b.insert(0, "b") // relayed: nothing else reads the log now
			total++
			e.waitUntil("a to get b's edit", func() bool { return len(a.text()) == total })
			if u, _, _ := h2.Published(); u == u0 {
				t.Fatalf("round %d: node 2 did not publish b's edit", round)
			}

			// node 2 closes the document: it says so, node 1 stops publishing
			b.p.Close(1000, "")
			bv.p.Close(1000, "")
			e.waitUntil("node 1 to learn node 2 closed the document", func() bool { return peers(h1) == 0 && h2.Rooms() == 0 })
			u0, aw0, _ := h1.Published()
			a.insert(0, "a")
			clock++
			sendAwareness(a, clock, "a alone")
			total++
			e.waitUntil("the viewer to get a's edit and cursor", func() bool {
				return len(v.text()) == total && awarenessOf(v, a.id) == cursor("a alone")
			})
			if u, aw, _ := h1.Published(); u != u0 || aw != aw0 {
				t.Fatalf("round %d: after node 2 closed the document, node 1 published %d updates and %d awareness messages", round, u-u0, aw-aw0)
			}
		}

	})
}

// A node that dies (no busGone) is no longer published to once it has not
// been heard for 3 PresenceEvery.
func TestNoPublishToADeadNode(t *testing.T) {
	e := newEnv(t, testutil.NewStore(t, store.SQLite))
	e.write("dead.txt", "")
	prefix := "ecodetest:" + randomID() + ":"
	opts := collab.Options{Redis: testdb.Redis(t), RedisPrefix: prefix, PresenceEvery: 100 * time.Millisecond, OnPeers: e.signal}
	h1, _ := e.hub(opts)
	h2, _ := e.hub(opts)
	peers := func(h *collab.Hub) int { n, _ := h.Peers(e.project, "dead.txt"); return n }
	a := e.connect(h1, "dead.txt", true)
	v := e.connect(h1, "dead.txt", false)
	b := e.connect(h2, "dead.txt", true)
	e.waitUntil("the nodes to know each other", func() bool { return peers(h1) == 1 && peers(h2) == 1 })
	b.insert(0, "b")
	e.converge("b", a, v, b)
	h2.Abort()
	e.waitUntil("node 1 to drop the dead node", func() bool { return peers(h1) == 0 })
	u0, aw0, _ := h1.Published()
	a.insert(1, "a")
	sendAwareness(a, 1, "a alone")
	e.waitUntil("the viewer to get a's edit and cursor", func() bool {
		return v.text() == "ba" && awarenessOf(v, a.id) == cursor("a alone")
	})
	if u, aw, _ := h1.Published(); u != u0 || aw != aw0 {
		t.Fatalf("after node 2 died, node 1 published %d updates and %d awareness messages", u-u0, aw-aw0)
	}
}

func sendAwareness(c *client, clock uint64, name string) {
	c.send(protocol.EncodeAwareness(protocol.EncodeAwarenessUpdate([]protocol.AwarenessEntry{{ClientID: c.id, Clock: clock, State: cursor(name)}})))
}

func cursor(name string) string { return `{"cursor":"` + name + `"}` }

func awarenessOf(c *client, id uint64) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.awareness[id]
}
