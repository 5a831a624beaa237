package collab_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ecode/internal/collab"
	"ecode/internal/store"
	"ecode/internal/testutil"
	"ecode/internal/testutil/testdb"
)

// The log's window is EditorsLogDelay while only editors of one node are
// in the room, LogDelay once a viewer is (each is set to an hour in turn,
// so an update waiting for the wrong one is never logged): with only
// editors (a viewer came and left) an update is logged within the short
// editors' window; with a viewer, the viewer gets it within LogDelay.
func TestLogDelayFollowsWhoWaits(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.write("a.txt", "")
		var logged atomic.Int64
		h, _ := e.hub(collab.Options{LogDelay: time.Hour, EditorsLogDelay: time.Millisecond, LogBatch: 1 << 20,
			FlushDelay: time.Hour, FlushMaxDelay: time.Hour, PollInterval: time.Hour,
			OnLogged: func(n int, _ time.Duration) { logged.Add(int64(n)); e.signal() }})
		a := e.connect(h, "a.txt", true)
		b := e.connect(h, "a.txt", true)
		v := e.connect(h, "a.txt", false)
		e.waitUntil("the sync replies", func() bool { return a.isSynced() && b.isSynced() && v.isSynced() })
		v.p.Close(1000, "")
		<-v.served // its leave is in the room's inbox before a's edit
		a.insert(0, "x")
		e.waitUntil("a's edit to be logged in the editors' window", func() bool { return logged.Load() == 1 })

		e.write("b.txt", "")
		h2, _ := e.hub(collab.Options{LogDelay: time.Millisecond, EditorsLogDelay: time.Hour, LogBatch: 1 << 20,
			FlushDelay: time.Hour, FlushMaxDelay: time.Hour, PollInterval: time.Hour})
		a2 := e.connect(h2, "b.txt", true)
		v2 := e.connect(h2, "b.txt", false)
		e.waitUntil("the sync replies", func() bool { return a2.isSynced() && v2.isSynced() })
		a2.insert(0, "y")
		e.waitUntil("the viewer to get a's logged edit", func() bool { return v2.text() == "y" })
	})
}

// With other nodes (Redis), the log's window is LogDelay: they get an
// update only once it is logged.
func TestLogDelayWithOtherNodes(t *testing.T) {
	st := testutil.NewStore(t, store.Postgres)
	e := newEnv(t, st)
	e.write("n.txt", "")
	prefix := "ecodetest:" + randomID() + ":"
	opts := collab.Options{Redis: testdb.Redis(t), RedisPrefix: prefix, LogDelay: time.Millisecond, EditorsLogDelay: time.Hour,
		LogBatch: 1 << 20, FlushDelay: time.Hour, FlushMaxDelay: time.Hour, PollInterval: time.Hour, CatchUpEvery: time.Hour}
	h1, _ := e.hub(opts)
	h2, _ := e.hub(opts)
	a := e.connect(h1, "n.txt", true)
	b := e.connect(h2, "n.txt", true)
	e.waitUntil("the sync replies", func() bool { return a.isSynced() && b.isSynced() })
	a.insert(0, "z")
	e.waitUntil("the other node's client to get a's edit", func() bool { return strings.Contains(b.text(), "z") })
}

// With Redis but no other node in the room, the window is EditorsLogDelay
// (nobody else waits for the log); once another node opens the room it is
// LogDelay, for what is pending too: that node gets it once logged.
// Each window is set to an hour in turn, so an update waiting for the
// wrong one is never logged.
func TestLogDelayFollowsOtherNodes(t *testing.T) {
	st := testutil.NewStore(t, store.Postgres)
	e := newEnv(t, st)
	prefix := "ecodetest:" + randomID() + ":"
	base := collab.Options{Redis: testdb.Redis(t), RedisPrefix: prefix, LogBatch: 1 << 20,
		FlushDelay: time.Hour, FlushMaxDelay: time.Hour, PollInterval: time.Hour, CatchUpEvery: time.Hour}

	// Alone: logged within the editors' window.
	e.write("alone.txt", "")
	var logged atomic.Int64
	alone := base
	alone.LogDelay, alone.EditorsLogDelay = time.Hour, time.Millisecond
	alone.OnLogged = func(n int, _ time.Duration) { logged.Add(int64(n)); e.signal() }
	h0, _ := e.hub(alone)
	a0 := e.connect(h0, "alone.txt", true)
	e.waitUntil("the sync reply", a0.isSynced)
	a0.insert(0, "x")
	e.waitUntil("a's edit to be logged in the editors' window, no other node in the room", func() bool { return logged.Load() == 1 })

	// A second node opens the room while an edit waits for the editors'
	// window of an hour.
	e.write("n.txt", "")
	opts := base
	opts.LogDelay, opts.EditorsLogDelay = time.Millisecond, time.Hour
	h1, _ := e.hub(opts)
	a := e.connect(h1, "n.txt", true)
	c := e.connect(h1, "n.txt", true)
	e.waitUntil("the sync replies", func() bool { return a.isSynced() && c.isSynced() })
	a.insert(0, "z")
	e.converge("z", a, c) // the room has it, pending
	h2, _ := e.hub(opts)
	b := e.connect(h2, "n.txt", true)
	e.waitUntil("the other node's client to get the edit pending when it opened the room", func() bool { return b.text() == "z" })
}
