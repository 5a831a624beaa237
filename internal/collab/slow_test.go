package collab_test

import (
	"strings"
	"testing"

	"ecode/internal/collab"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// A client that stops reading while others type is not closed: what it
// missed arrives as one update of the whole state once it reads again,
// with the messages that are not document or awareness (its Flushed) kept
// for it. Both an editor and a viewer (which must see logged updates only).
func TestSlowReaderGetsCoalescedState(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.write("s.txt", "")
		h, _ := e.hub(collab.Options{SendQueue: 4})
		a := e.connect(h, "s.txt", true)
		slow := e.connect(h, "s.txt", true)
		viewer := e.connect(h, "s.txt", false)
		e.converge("", a, slow, viewer)
		e.waitUntil("the sync replies", func() bool { return slow.isSynced() && viewer.isSynced() })

		before := slow.p.writes.Load()
		slow.p.hold()
		viewer.p.hold()
		const n = 300
		for i := range n {
			a.insert(i, "x")
		}
		slow.send([]byte{collab.MessageFlush}) // answered while it lags: held for it
		want := strings.Repeat("x", n)
		e.converge(want, a)
		e.onDisk("s.txt", want)
		slow.p.release()
		viewer.p.release()
		e.converge(want, a, slow, viewer)
		e.waitUntil("the held Flushed", func() bool { return slow.flushes.Load() == 1 })
		if slow.closed() || viewer.closed() {
			t.Fatalf("a slow reader was closed (%d %q, %d %q)", slow.p.code, slow.p.reason, viewer.p.code, viewer.p.reason)
		}
		if got := slow.p.writes.Load() - before; got >= n {
			t.Fatalf("the slow client got %d messages for %d updates: nothing was coalesced", got, n)
		}
		// It is an ordinary client again afterwards.
		slow.insert(0, "y")
		e.converge("y"+want, a, slow, viewer)
	})
}

// A lagging client whose merged state would be too large is closed with
// 1013 (it reconnects and syncs from scratch).
func TestSlowReaderClosedWhenStateTooLarge(t *testing.T) {
	e := newEnv(t, testutil.NewStore(t, store.SQLite))
	e.write("big.txt", strings.Repeat("b", 2000))
	h, _ := e.hub(collab.Options{SendQueue: 2, MaxResyncBytes: 1000})
	a := e.connect(h, "big.txt", true)
	slow := e.connect(h, "big.txt", true)
	e.converge(strings.Repeat("b", 2000), a, slow)
	slow.p.hold()
	for i := range 50 {
		a.insert(i, "x")
	}
	e.converge(strings.Repeat("x", 50)+strings.Repeat("b", 2000), a)
	slow.p.release()
	e.waitUntil("the slow client closed", slow.closed)
	if slow.p.code != collab.CloseTryAgainLater {
		t.Fatalf("closed with %d %q, want 1013", slow.p.code, slow.p.reason)
	}
}

// Document updates queued for a client are joined into one message when
// it reads again (one write instead of one each), and it ends with the
// same text.
func TestQueuedUpdatesJoined(t *testing.T) {
	e := newEnv(t, testutil.NewStore(t, store.SQLite))
	e.write("j.txt", "")
	h, _ := e.hub(collab.Options{})
	a := e.connect(h, "j.txt", true)
	b := e.connect(h, "j.txt", true)
	e.converge("", a, b)
	e.waitUntil("the sync reply", b.isSynced)
	before := b.p.writes.Load()
	b.p.hold()
	const n = 100
	for i := range n {
		a.insert(i, "x")
	}
	want := strings.Repeat("x", n)
	e.onDisk("j.txt", want) // every update is integrated, so queued for b
	b.p.release()
	e.converge(want, a, b)
	if got := b.p.writes.Load() - before; got > 5 {
		t.Fatalf("b got %d messages for %d queued updates: they were not joined", got, n)
	}
	if b.closed() {
		t.Fatalf("b was closed (%d %q)", b.p.code, b.p.reason)
	}
}
