package collab_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"ecode/internal/collab"
	"ecode/internal/store"
	"ecode/internal/testutil"
	"ecode/internal/yjs"
)

// directPipe is a pipe the room may write to itself (collab.DirectConn),
// shaped like a socket: TryWrite takes nothing while the client does not
// read (the pipe is held) or while a message is unfinished; every partEvery-th
// message is taken only in part: it reaches the client when Flush (or the
// next Write) finishes it.
type directPipe struct {
	*pipe
	partEvery int

	mu      sync.Mutex
	tries   int
	direct  int    // messages TryWrite took
	flushed int    // messages taken in part and finished by Flush or Write
	pending []byte // a message taken in part
}

func (d *directPipe) TryWrite(msg []byte) (bool, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	select {
	case <-d.closed:
		return false, false, errPipeClosed
	default:
	}
	if d.pending != nil || d.gate.Load() != nil {
		return false, false, nil
	}
	d.tries++
	d.direct++
	if d.partEvery > 0 && d.tries%d.partEvery == 0 {
		d.pending = append([]byte(nil), msg...)
		return true, true, nil
	}
	d.deliver(msg)
	return true, false, nil
}

func (d *directPipe) deliver(msg []byte) {
	d.writes.Add(1)
	select {
	case d.toClient <- append([]byte(nil), msg...):
	case <-d.closed:
	}
}

func (d *directPipe) Flush() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pending != nil {
		d.deliver(d.pending)
		d.pending = nil
		d.flushed++
	}
	return nil
}

func (d *directPipe) Write(ctx context.Context, msg []byte) error {
	if err := d.Flush(); err != nil {
		return err
	}
	return d.pipe.Write(ctx, msg)
}

// counts returns the messages the room wrote, those the writer wrote
// (from the queue), and those the room wrote in part and the writer
// finished.
func (d *directPipe) counts() (direct int, queued int64, flushed int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.direct, d.writes.Load() - int64(d.direct), d.flushed
}

// A connection the room can write to itself gets what it is sent that way
// while it keeps up (not through its writer); a message the socket took in
// part is finished by the writer before anything else; a client that stops
// reading falls back on the queue and the coalesced catch-up as before.
func TestRoomWritesDirectly(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.write("d.txt", "")
		h, _ := e.hub(collab.Options{SendQueue: 4})
		pipes := []*directPipe{}
		direct := func(partEvery int) *client {
			return e.connectConn(h, "d.txt", true, yjs.NewDoc(), 0, func(p *pipe) collab.Conn {
				d := &directPipe{pipe: p, partEvery: partEvery}
				pipes = append(pipes, d)
				return d
			})
		}
		a := direct(0)
		b := direct(0)
		partly := direct(3)
		e.converge("", a, b, partly)
		// one edit at a time: each is one broadcast
		want := ""
		for i := range 20 {
			a.insert(i, "x")
			want += "x"
			e.converge(want, a, b, partly)
		}
		dir, queued, _ := pipes[1].counts()
		t.Logf("a client that keeps up: %d messages written by the room, %d by its writer", dir, queued)
		if dir < 20 || queued != 0 {
			t.Errorf("a client that keeps up got %d messages from the room and %d from its writer, want 20+ and 0", dir, queued)
		}
		dir, queued, flushed := pipes[2].counts()
		t.Logf("a client whose socket takes every third message in part: %d by the room (%d of them finished by its writer), %d by its writer", dir, flushed, queued)
		if dir < 20 || flushed < 6 {
			t.Errorf("partly: %d from the room, %d of them finished by the writer, want 20+ and 6+", dir, flushed)
		}

		const n = 200

		// b stops reading: its messages queue, it lags, and catches up
		b.p.hold()
		for i := range n {
			a.insert(20+i, "y")
		}
		want += strings.Repeat("y", n)
		e.converge(want, a, partly)
		b.p.release()
		e.converge(want, a, b, partly)
		if b.closed() {
			t.Fatalf("the slow reader was closed: %d %q", b.p.code, b.p.reason)
		}
		before, _, _ := pipes[1].counts()
		b.insert(0, "z")
		e.converge("z"+want, a, b, partly)
		a.insert(0, "w")
		e.converge("wz"+want, a, b, partly)
		if after, _, _ := pipes[1].counts(); after == before {
			t.Error("after catching up, the room no longer writes to the client itself")
		}
	})
}

// A room with more connections than DirectFanout leaves every write to
// the connections' writers, and writes itself again once it is small.
func TestLargeRoomLeavesWritesToWriters(t *testing.T) {
	e := newEnv(t, testutil.NewStore(t, store.SQLite))
	e.write("f.txt", "")
	h, _ := e.hub(collab.Options{DirectFanout: 2})
	var pipes []*directPipe
	connect := func() *client {
		return e.connectConn(h, "f.txt", true, yjs.NewDoc(), 0, func(p *pipe) collab.Conn {
			d := &directPipe{pipe: p}
			pipes = append(pipes, d)
			return d
		})
	}
	a, b, c := connect(), connect(), connect()
	e.converge("", a, b, c)
	// Synced means the room has handled the client's join (and with the
	// third, turned its own writes off) and answered its sync step 1: no
	// write of the room to b is still to come.
	e.waitUntil("all three joined and synced", func() bool {
		return h.Clients() == 3 && a.isSynced() && b.isSynced() && c.isSynced()
	})
	before, _, _ := pipes[1].counts()
	want := ""
	for i := range 10 {
		a.insert(i, "x")
		want += "x"
		e.converge(want, a, b, c)
	}
	if dir, queued, _ := pipes[1].counts(); dir != before || queued < 10 {
		t.Fatalf("in a room of 3 over a fan-out of 2: %d messages written by the room (%d before), %d by the writer", dir, before, queued)
	}
	c.p.Close(1000, "")
	e.waitUntil("c left", func() bool { return h.Clients() == 2 })
	a.insert(0, "y")
	e.converge("y"+want, a, b)
	if dir, _, _ := pipes[1].counts(); dir == before {
		t.Fatal("back to 2 connections, the room still leaves its writes to the writers")
	}
}
