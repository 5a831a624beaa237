package collab_test

import (
	"context"
	"ecode/internal/testutil/testdb"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ecode/internal/collab"
	"ecode/internal/store"
	"ecode/internal/testutil"
	"ecode/internal/yjs"
	"ecode/internal/yjs/protocol"
)

func TestSyncBroadcastAndFlush(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.write("src/main.go", "package main\n")
		h, _ := e.hub(collab.Options{})
		a := e.connect(h, "src/main.go", true)
		b := e.connect(h, "src/main.go", true)
		e.converge("package main\n", a, b)
		a.insert(13, "func main() {}\n")
		b.insert(0, "// 😀 emoji\n")
		want := "// 😀 emoji\npackage main\nfunc main() {}\n"
		e.converge(want, a, b)
		e.onDisk("src/main.go", want)
		// OnFlush runs on the room's goroutine once the write is done,
		// which may be just after the file holds the text
		e.waitUntil("OnFlush to be told of the text", func() bool {
			got, _ := e.flushedText("src/main.go")
			return got == want
		})
	})
}

// The hub integrates updates delivered twice and out of order (parking the
// ones whose dependencies are missing) and ends with the sender's text.
func TestDuplicatedAndReorderedDelivery(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.write("a.txt", "")
		h, _ := e.hub(collab.Options{CompactEvery: 7})
		watcher := e.connect(h, "a.txt", true)
		e.waitUntil("sync", watcher.isSynced)

		// A client that is offline makes 60 edits, then sends them shuffled with duplicates.
		local := yjs.NewDoc()
		rng := rand.New(rand.NewPCG(1, 2))
		var updates [][]byte
		for i := 0; i < 60; i++ {
			n := local.TextLen(collab.TextName)
			var u []byte
			var err error
			if n > 0 && rng.IntN(3) == 0 {
				pos := rng.IntN(n)
				u, err = local.DeleteText(collab.TextName, pos, min(1+rng.IntN(3), n-pos), 77)
			} else {
				u, err = local.InsertText(collab.TextName, rng.IntN(n+1), []string{"a", "é", "😀", "line\n"}[rng.IntN(4)], 77)
			}
			if err != nil {
				t.Fatal(err)
			}
			if u != nil {
				updates = append(updates, u)
			}
		}
		order := append(rng.Perm(len(updates)), rng.Perm(len(updates))[:20]...)
		sender := e.connect(h, "a.txt", true)
		for _, i := range order {
			sender.send(protocol.EncodeUpdate(updates[i]))
		}
		want := local.Text(collab.TextName)
		e.converge(want, watcher)
		e.onDisk("a.txt", want)
	})
}

// A change made on disk while a client has typed text not yet written
// keeps both.
func TestExternalChangeMergesWithUnwrittenTyping(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.write("notes.md", "one\ntwo\n")
		h, _ := e.hub(collab.Options{FlushDelay: time.Hour, FlushMaxDelay: time.Hour, PollInterval: time.Hour})
		a := e.connect(h, "notes.md", true)
		e.converge("one\ntwo\n", a)
		a.insert(8, "three\n") // typed, not yet on disk
		e.converge("one\ntwo\nthree\n", a)
		e.write("notes.md", "ONE\ntwo\n") // e.g. the agent, or a PUT
		h.FileChanged(context.Background(), e.project, "notes.md")
		e.converge("ONE\ntwo\nthree\n", a)
	})
}

// Writes to the file by something else are noticed without being told
// (the room polls the file), and deleting the file closes the room.
func TestPollingAndDeletion(t *testing.T) {
	e := newEnv(t, testutil.NewStore(t, store.SQLite))
	e.write("x.py", "print(1)\n")
	h, _ := e.hub(collab.Options{})
	a := e.connect(h, "x.py", true)
	e.converge("print(1)\n", a)
	e.write("x.py", "print(2)\n")
	e.converge("print(2)\n", a)
	p, _ := e.files.Project(e.project)
	p.Remove("x.py")
	p.Close()
	e.waitUntil("the room to close", a.closed)
	if a.p.code != collab.CloseFileDeleted {
		t.Fatalf("close code %d, want %d", a.p.code, collab.CloseFileDeleted)
	}
	e.waitUntil("the room to be freed", func() bool { return h.Rooms() == 0 })
}

func TestViewerUpdatesAreDropped(t *testing.T) {
	e := newEnv(t, testutil.NewStore(t, store.SQLite))
	e.write("v.txt", "abc")
	h, _ := e.hub(collab.Options{})
	editor := e.connect(h, "v.txt", true)
	viewer := e.connect(h, "v.txt", false)
	e.converge("abc", editor, viewer)
	viewer.insert(0, "X")
	e.waitUntil("permission denied", func() bool {
		viewer.mu.Lock()
		defer viewer.mu.Unlock()
		return viewer.denied != ""
	})
	editor.insert(3, "d")
	e.waitUntil("the editor's change", func() bool { return strings.HasSuffix(viewer.text(), "abcd") })
	if editor.text() != "abcd" {
		t.Fatalf("editor has %q: the viewer's edit got through", editor.text())
	}
	if viewer.closed() {
		t.Fatal("viewer disconnected")
	}
}

func TestHostileMessagesCloseOnlyThatConnection(t *testing.T) {
	e := newEnv(t, testutil.NewStore(t, store.SQLite))
	e.write("h.txt", "safe")
	h, _ := e.hub(collab.Options{MaxAwarenessBytes: 64})
	good := e.connect(h, "h.txt", true)
	e.converge("safe", good)
	cases := []struct {
		name string
		msg  []byte
		code int
	}{
		{"unknown type", []byte{9, 1, 2}, collab.CloseUnsupported},
		{"truncated sync", []byte{0, 2, 50, 1}, collab.CloseInvalid},
		{"garbage update", protocol.EncodeUpdate([]byte{5, 200, 200, 200, 1, 7}), collab.CloseInvalid},
		{"huge awareness", protocol.EncodeAwareness(protocol.EncodeAwarenessUpdate([]protocol.AwarenessEntry{{ClientID: 5, Clock: 1, State: `{"x":"` + strings.Repeat("a", 100) + `"}`}})), collab.CloseTooBig},
	}
	for _, tc := range cases {
		bad := e.connect(h, "h.txt", true)
		bad.send(tc.msg)
		e.waitUntil(tc.name+" to be closed", bad.closed)
		if bad.p.code != tc.code {
			t.Errorf("%s: close code %d, want %d", tc.name, bad.p.code, tc.code)
		}
	}
	good.insert(4, "!")
	e.converge("safe!", good)
	late := e.connect(h, "h.txt", true)
	e.converge("safe!", late)
}

func TestMessageRateLimit(t *testing.T) {
	e := newEnv(t, testutil.NewStore(t, store.SQLite))
	e.write("r.txt", "")
	h, _ := e.hub(collab.Options{MessageRate: 1, MessageBurst: 5})
	c := e.connect(h, "r.txt", true)
	for i := 0; i < 20 && !c.closed(); i++ {
		c.send(protocol.EncodeQueryAwareness())
	}
	e.waitUntil("rate limit", c.closed)
	if c.p.code != collab.ClosePolicy {
		t.Fatalf("close code %d", c.p.code)
	}
}

func TestAwarenessRelayAndRemovalOnDisconnect(t *testing.T) {
	e := newEnv(t, testutil.NewStore(t, store.SQLite))
	e.write("w.txt", "")
	h, _ := e.hub(collab.Options{})
	a := e.connect(h, "w.txt", true)
	b := e.connect(h, "w.txt", true)
	state := `{"user":{"name":"ann","color":"#f00"}}`
	a.send(protocol.EncodeAwareness(protocol.EncodeAwarenessUpdate([]protocol.AwarenessEntry{{ClientID: a.id, Clock: 1, State: state}})))
	has := func(c *client, id uint64) func() bool {
		return func() bool { c.mu.Lock(); defer c.mu.Unlock(); _, ok := c.awareness[id]; return ok }
	}
	e.waitUntil("b to see a", has(b, a.id))
	// an echo (same clock) is not relayed again; a late joiner gets the state
	b.send(protocol.EncodeAwareness(protocol.EncodeAwarenessUpdate([]protocol.AwarenessEntry{{ClientID: a.id, Clock: 1, State: state}})))
	c := e.connect(h, "w.txt", false)
	e.waitUntil("c to see a", has(c, a.id))
	a.p.Close(1000, "")
	e.waitUntil("b to see a leave", func() bool { return !has(b, a.id)() })
}

// Restarting the server keeps every acknowledged update; a client with
// the old document reconnects without duplicating anything.
func TestRestartKeepsEverything(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.write("r.txt", "start\n")
		h1, stop1 := e.hub(collab.Options{FlushDelay: time.Hour, FlushMaxDelay: time.Hour})
		a := e.connect(h1, "r.txt", true)
		e.converge("start\n", a)
		for i := 0; i < 30; i++ {
			a.insert(len(a.text()), "x")
		}
		want := "start\n" + strings.Repeat("x", 30)
		e.converge(want, a)
		// the server echoes every update after logging it: wait for the last echo
		watcher := e.connect(h1, "r.txt", true)
		e.converge(want, watcher)
		stop1() // writes the file on the way out
		if got := e.read("r.txt"); got != want {
			t.Fatalf("after shutdown the file holds %q", got)
		}
		h2, _ := e.hub(collab.Options{})
		a2 := e.connectDoc(h2, "r.txt", true, a.clone(), a.id) // the same client, reconnecting
		b := e.connect(h2, "r.txt", true)
		a2.insert(0, ">")
		e.converge(">"+want, a2, b)
		e.onDisk("r.txt", ">"+want)
	})
}

// Two nodes seeding the same file at once agree on one seed.
func TestConcurrentSeedingDoesNotDuplicate(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.write("s.txt", "seed text")
		h1, _ := e.hub(collab.Options{})
		h2, _ := e.hub(collab.Options{})
		a := e.connect(h1, "s.txt", true)
		b := e.connect(h2, "s.txt", true)
		e.converge("seed text", a, b)
		// b's document (seeded on the other node) merged into a's: still one copy
		a.mu.Lock()
		b.mu.Lock()
		sb, _ := b.doc.EncodeStateAsUpdate(nil)
		a.doc.ApplyUpdate(sb)
		b.mu.Unlock()
		got := a.doc.Text(collab.TextName)
		a.mu.Unlock()
		if got != "seed text" {
			t.Fatalf("merged text %q", got)
		}
	})
}

func TestPresenceRoomCarriesAwarenessOnly(t *testing.T) {
	e := newEnv(t, testutil.NewStore(t, store.SQLite))
	h, _ := e.hub(collab.Options{})
	a := e.connect(h, "", true)
	b := e.connect(h, "", false)
	a.insert(0, "ignored")
	a.send(protocol.EncodeAwareness(protocol.EncodeAwarenessUpdate([]protocol.AwarenessEntry{{ClientID: a.id, Clock: 1, State: `{"user":{"name":"a"},"file":"x"}`}})))
	e.waitUntil("b to see a", func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.awareness[a.id] != "" })
	if b.text() != "" {
		t.Fatalf("presence room relayed text %q", b.text())
	}
}

// Two nodes on one store and one Redis: a client on each converges; when
// one node dies its client reconnects to the other and nothing is lost.
func TestTwoNodesWithRedis(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.write("shared.txt", "0\n")
		prefix := "ecodetest:" + randomID() + ":"
		opts := collab.Options{Redis: testdb.Redis(t), RedisPrefix: prefix, LeaseTTL: 300 * time.Millisecond}
		h1, _ := e.hub(opts)
		h2, _ := e.hub(opts)
		a := e.connect(h1, "shared.txt", true)
		awareness := `{"user":{"name":"a"}}`
		a.send(protocol.EncodeAwareness(protocol.EncodeAwarenessUpdate([]protocol.AwarenessEntry{{ClientID: a.id, Clock: 1, State: awareness}})))
		e.waitUntil("a's awareness to be accepted", func() bool { a.mu.Lock(); defer a.mu.Unlock(); return a.awareness[a.id] == awareness })
		// the room opens on node 2 after a announced itself: node 2 asks the others
		b := e.connect(h2, "shared.txt", true)
		e.converge("0\n", a, b)
		e.waitUntil("b to see a's awareness", func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.awareness[a.id] == awareness })
		for i := 0; i < 20; i++ {
			a.insert(0, "a")
			b.insert(len(b.text()), "b")
		}
		want := strings.Repeat("a", 20) + "0\n" + strings.Repeat("b", 20)
		e.converge(want, a, b)
		a.insert(0, "!") // acknowledged by node 1 (it comes back to b through it)
		e.converge("!"+want, a, b)

		h1.Abort() // node 1 dies: no flush, its lease runs out
		e.waitUntil("a to lose its connection", a.closed)
		a2 := e.connectDoc(h2, "shared.txt", true, a.clone(), a.id)
		a2.insert(1, "?")
		want = "!?" + want
		e.converge(want, a2, b)
		e.onDisk("shared.txt", want) // node 2 took the lease over and writes the file
	})
}

// An idle client gets an empty update now and then (the provider reconnects
// after 30 s without a message), and the room is freed when the last
// client leaves.
func TestKeepAliveAndRoomFreed(t *testing.T) {
	e := newEnv(t, testutil.NewStore(t, store.SQLite))
	e.write("k.txt", "k")
	h, _ := e.hub(collab.Options{KeepAlive: 30 * time.Millisecond})
	c := newPipe()
	go h.Serve(context.Background(), c, collab.Client{ProjectID: e.project, Path: "k.txt", CanWrite: true})
	keepAlive := string(protocol.EncodeUpdate([]byte{0, 0}))
	for got := 0; got < 2; {
		select {
		case b := <-c.toClient:
			if string(b) == keepAlive {
				got++
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no keep-alive message")
		}
	}
	c.Close(1000, "")
	e.waitUntil("the room to be freed", func() bool { return h.Rooms() == 0 })
}

// Flush (the API before a move or a zip) and a client's Save message write
// the file at once.
func TestFlushWritesNow(t *testing.T) {
	e := newEnv(t, testutil.NewStore(t, store.SQLite))
	e.write("dir/f.txt", "a")
	h, _ := e.hub(collab.Options{FlushDelay: time.Hour, FlushMaxDelay: time.Hour})
	c := e.connect(h, "dir/f.txt", true)
	w := e.connect(h, "dir/f.txt", false)
	e.converge("a", c, w)
	c.insert(1, "b")
	e.converge("ab", c, w) // w has it: the server logged it
	if err := h.Flush(context.Background(), e.project, "dir"); err != nil {
		t.Fatal(err)
	}
	if got := e.read("dir/f.txt"); got != "ab" {
		t.Fatalf("after Flush the file holds %q", got)
	}
	c.insert(2, "c")
	c.send([]byte{collab.MessageFlush})
	e.onDisk("dir/f.txt", "abc")
}

// A node that dies before writing the file loses nothing: the next node to
// open the document has every logged update and writes the file.
func TestCrashBeforeFlush(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.write("c.txt", "base\n")
		h1, _ := e.hub(collab.Options{FlushDelay: time.Hour, FlushMaxDelay: time.Hour, LeaseTTL: 300 * time.Millisecond})
		a := e.connect(h1, "c.txt", true)
		w := e.connect(h1, "c.txt", false)
		e.converge("base\n", a, w)
		a.insert(5, "typed")
		e.converge("base\ntyped", a, w) // acknowledged: w got it from the server
		h1.Abort()
		if got := e.read("c.txt"); got != "base\n" {
			t.Fatalf("the dead node wrote %q", got)
		}
		h2, _ := e.hub(collab.Options{})
		b := e.connect(h2, "c.txt", true)
		e.converge("base\ntyped", b)
		e.onDisk("c.txt", "base\ntyped")
	})
}

// An update relayed from another node reaches the clients without this
// node first logging its own pending updates (a transaction for every
// relayed update would hold up the room): node 1 logs nothing for an hour
// (no log timer, no file write, no poll), yet its client sees node 2's edit
// while its own edit is still unlogged.
func TestRelayedUpdateDoesNotWaitForLocalLog(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.write("relay.txt", "")
		prefix := "ecodetest:" + randomID() + ":"
		var logged atomic.Int64
		h1, _ := e.hub(collab.Options{Redis: testdb.Redis(t), RedisPrefix: prefix, LogDelay: time.Hour, EditorsLogDelay: time.Hour, LogBatch: 1 << 20,
			FlushDelay: time.Hour, FlushMaxDelay: time.Hour, PollInterval: time.Hour,
			OnLogged: func(n int, _ time.Duration) { logged.Add(int64(n)) }})
		h2, _ := e.hub(collab.Options{Redis: testdb.Redis(t), RedisPrefix: prefix})
		a := e.connect(h1, "relay.txt", true)
		b := e.connect(h2, "relay.txt", true)
		e.converge("", a, b)
		a.insert(0, "a") // pending on node 1
		b.insert(0, "b") // logged by node 2 and relayed
		e.waitUntil("a to see b's edit", func() bool { return strings.Contains(a.text(), "b") })
		if n := logged.Load(); n != 0 {
			t.Fatalf("node 1 logged %d updates before relaying node 2's", n)
		}
	})
}

// Three nodes type into one document while each compacts its log after
// every write: a node catching up (on a gap in the relayed sequence) reads
// the log while another deletes the updates its snapshot covers. Every
// client still gets every edit (a read that missed updates a compaction
// deleted under it used to leave a node's document waiting for them
// forever, and its clients with it).
func TestCatchUpDuringCompaction(t *testing.T) {
	st := testutil.NewStore(t, store.Postgres) // READ COMMITTED: the race
	e := newEnv(t, st)
	e.write("race.txt", "")
	prefix := "ecodetest:" + randomID() + ":"
	opts := collab.Options{Redis: testdb.Redis(t), RedisPrefix: prefix, CompactEvery: 1, LogDelay: time.Millisecond}
	var cs []*client
	for range 3 {
		h, _ := e.hub(opts)
		cs = append(cs, e.connect(h, "race.txt", true))
	}
	e.converge("", cs...)
	rnd := rand.New(rand.NewPCG(1, 2))
	const edits = 150
	for i := range edits {
		for _, c := range cs {
			c.insert(rnd.IntN(len(c.text())+1), string(rune('a'+i%26)))
		}
	}
	e.waitUntil("every client to have every edit", func() bool {
		for _, c := range cs {
			if n := len(c.text()); n != edits*len(cs) {
				return false
			}
		}
		return true
	})
	e.converge(cs[0].text(), cs...)
}

// Awareness does not write the log: with an edit of a still unlogged, its
// cursor reaches the other editor at once, and the viewer only after the
// edit (which it gets once logged), so a cursor never points into text a
// client lacks.
func TestAwarenessDoesNotWaitForTheLog(t *testing.T) {
	e := newEnv(t, testutil.NewStore(t, store.SQLite))
	e.write("aw.txt", "")
	var logged atomic.Int64
	h, _ := e.hub(collab.Options{LogDelay: time.Hour, LogBatch: 1 << 20, FlushDelay: time.Hour, FlushMaxDelay: time.Hour,
		PollInterval: time.Hour, OnLogged: func(n int, _ time.Duration) { logged.Add(int64(n)) }})
	a := e.connect(h, "aw.txt", true)
	b := e.connect(h, "aw.txt", true)
	v := e.connect(h, "aw.txt", false)
	e.waitUntil("the sync replies", func() bool { return a.isSynced() && b.isSynced() && v.isSynced() })
	a.insert(0, "hi")
	state := `{"cursor":{"anchor":2}}`
	a.send(protocol.EncodeAwareness(protocol.EncodeAwarenessUpdate([]protocol.AwarenessEntry{{ClientID: a.id, Clock: 1, State: state}})))
	e.waitUntil("b to see a's cursor", func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.awareness[a.id] == state })
	if n := logged.Load(); n != 0 {
		t.Fatalf("the awareness message wrote %d updates to the log", n)
	}
	v.mu.Lock()
	early := v.awareness[a.id]
	v.mu.Unlock()
	if early != "" {
		t.Fatal("the viewer got a's cursor before a's edit was logged")
	}
	if err := h.Flush(context.Background(), e.project, "aw.txt"); err != nil { // logs the edit
		t.Fatal(err)
	}
	e.waitUntil("the viewer to see a's cursor", func() bool { v.mu.Lock(); defer v.mu.Unlock(); return v.awareness[a.id] == state })
	if got := v.text(); got != "hi" {
		t.Fatalf("the viewer holds %q with a's cursor", got)
	}
}
