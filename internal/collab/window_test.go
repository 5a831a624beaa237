package collab_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ecode/internal/collab"
	"ecode/internal/store"
	"ecode/internal/testutil"
	"ecode/internal/yjs"
	"ecode/internal/yjs/protocol"
)

// windowHub is a hub whose broadcast window is an hour (ended by a client
// joining) and whose log is written within a millisecond, counted by logged.
func windowHub(e *env, logged *atomic.Int64) *collab.Hub {
	h, _ := e.hub(collab.Options{BroadcastWindow: time.Hour, LogDelay: time.Millisecond, EditorsLogDelay: time.Millisecond,
		FlushDelay: time.Hour, FlushMaxDelay: time.Hour, PollInterval: time.Hour,
		OnLogged: func(n int, _ time.Duration) { logged.Add(int64(n)); e.signal() }})
	return h
}

// updatesFrom sorts the document updates c received: how many held
// another client's structs, and how many of those held c's own as well.
func updatesFrom(t *testing.T, c *client) (others, mixed int) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.got {
		if m.Type != protocol.MessageSync {
			continue
		}
		u, err := yjs.DecodeUpdate(m.Payload)
		if err != nil {
			t.Fatal(err)
		}
		own, other := false, false
		for _, g := range u.Groups {
			if g.Client == c.id {
				own = true
			} else {
				other = true
			}
		}
		if other {
			others++
			if own {
				mixed++
			}
		}
	}
	return others, mixed
}

// With a broadcast window, the updates editors send during it reach each
// other editor as one message, without its own (those come back as their
// echo), and not before the window ends. A client joining ends it, and
// gets none of it again: it syncs with the state that holds it.
func TestBroadcastWindowJoinsUpdates(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.write("w.txt", "")
		var logged atomic.Int64
		h := windowHub(e, &logged)
		direct := func() *client { // the room writes each message itself: none joined by a writer
			return e.connectConn(h, "w.txt", true, yjs.NewDoc(), 0, func(p *pipe) collab.Conn { return &directPipe{pipe: p} })
		}
		a, b := direct(), direct()
		e.waitUntil("the sync replies", func() bool { return a.isSynced() && b.isSynced() })
		for i := range 5 {
			a.insert(i, "a")
		}
		for i := range 3 {
			b.insert(i, "b")
		}
		e.waitUntil("the 8 updates to be logged", func() bool { return logged.Load() == 8 })
		if strings.Contains(b.text(), "a") || strings.Contains(a.text(), "b") {
			t.Fatalf("the other editor got updates before the window ended: a %q, b %q", a.text(), b.text())
		}
		c := direct()
		e.waitUntil("the three to converge", func() bool {
			s := a.text()
			return len(s) == 8 && b.text() == s && c.text() == s
		})
		for _, x := range []struct {
			name string
			c    *client
			want int
		}{{"a", a, 1}, {"b", b, 1}, {"c, which joined", c, 0}} {
			others, mixed := updatesFrom(t, x.c)
			if others != x.want || mixed != 0 {
				t.Errorf("%s got %d messages of the others' updates (%d with its own too), want %d (0)", x.name, others, mixed, x.want)
			}
		}
	})
}

// Awareness sent during the window reaches the other editors after the
// updates held (a cursor may point into them); viewers get it once those
// are logged, as without a window.
func TestBroadcastWindowHoldsAwareness(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.write("w.txt", "")
		var logged atomic.Int64
		h := windowHub(e, &logged)
		a := e.connect(h, "w.txt", true)
		b := e.connect(h, "w.txt", true)
		v := e.connect(h, "w.txt", false)
		e.waitUntil("the sync replies", func() bool { return a.isSynced() && b.isSynced() && v.isSynced() })
		a.insert(0, "x")
		a.send(protocol.EncodeAwareness(protocol.EncodeAwarenessUpdate([]protocol.AwarenessEntry{{ClientID: a.id, Clock: 1, State: `{"cursor":1}`}})))
		e.waitUntil("the viewer to get the update and then the awareness", func() bool {
			v.mu.Lock()
			defer v.mu.Unlock()
			return v.awareness[a.id] != ""
		})
		if v.text() != "x" {
			t.Fatalf("the viewer got the awareness before the update: %q", v.text())
		}
		b.mu.Lock()
		early := len(b.got)
		b.mu.Unlock()
		if early != 0 {
			t.Fatalf("b got %d messages before the window ended", early)
		}
		e.connect(h, "w.txt", true) // ends the window
		e.waitUntil("b to get a's awareness", func() bool {
			b.mu.Lock()
			defer b.mu.Unlock()
			return b.awareness[a.id] != ""
		})
		b.mu.Lock()
		defer b.mu.Unlock()
		var kinds []string
		for _, m := range b.got {
			kinds = append(kinds, fmt.Sprint(m.Type))
		}
		if got := strings.Join(kinds, ","); got != fmt.Sprintf("%d,%d", protocol.MessageSync, protocol.MessageAwareness) {
			t.Errorf("b got messages of types %s, want the update then the awareness", got)
		}
	})
}

// Several editors typing at once through a short window, with awareness
// between their edits and a viewer watching, all end with the same text
// holding every edit once.
func TestBroadcastWindowConverges(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.write("w.txt", "")
		h, _ := e.hub(collab.Options{BroadcastWindow: 2 * time.Millisecond})
		var cs []*client
		for range 4 {
			cs = append(cs, e.connect(h, "w.txt", true))
		}
		v := e.connect(h, "w.txt", false)
		e.waitUntil("the sync replies", func() bool {
			for _, c := range append(cs, v) {
				if !c.isSynced() {
					return false
				}
			}
			return true
		})
		const edits = 30
		var wg sync.WaitGroup
		for i, c := range cs {
			wg.Go(func() {
				for j := range edits {
					c.insert(0, string(rune('a'+i)))
					if j%10 == 0 {
						c.send(protocol.EncodeAwareness(protocol.EncodeAwarenessUpdate([]protocol.AwarenessEntry{{ClientID: c.id, Clock: uint64(j + 1), State: `{"cursor":0}`}})))
					}
				}
			})
		}
		wg.Wait()
		all := append(cs, v)
		e.waitUntil("every client to hold every edit", func() bool {
			s := all[0].text()
			for _, c := range all {
				if c.text() != s {
					return false
				}
			}
			return len(s) == len(cs)*edits
		})
		s := v.text()
		for i := range cs {
			if n := strings.Count(s, string(rune('a'+i))); n != edits {
				t.Errorf("client %d's edits appear %d times, want %d", i, n, edits)
			}
		}
	})
}
