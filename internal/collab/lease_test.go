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

// The flush lease passes to node B while node A, paused (its clock stands
// still, so it never renews), is still writing the file; B writes newer
// text; then A's write lands with the older text. B takes that for the
// previous writer's late write, not a change made outside the document:
// it writes the document again, and the newer text stays (it used to merge
// the old text in, undoing what was typed since).
func TestLateWriteOfThePreviousWriter(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.write("late.txt", "base\n")
		prefix := "ecodetest:" + randomID() + ":"
		paused := time.Now()
		var hold atomic.Bool
		held, gate := make(chan string, 1), make(chan struct{})
		hA, _ := e.hub(collab.Options{Redis: testdb.Redis(t), RedisPrefix: prefix, LeaseTTL: 300 * time.Millisecond,
			Now: func() time.Time { return paused },
			BeforeWrite: func(_, _, text string) {
				if hold.CompareAndSwap(true, false) {
					held <- text
					<-gate
				}
			}})
		a := e.connect(hA, "late.txt", true)
		e.converge("base\n", a)
		a.insert(5, "one")
		e.onDisk("late.txt", "base\none")
		hold.Store(true)
		a.insert(8, "two")
		if got := <-held; got != "base\nonetwo" {
			t.Fatalf("A writes %q", got)
		}

		var bWrites atomic.Int64
		hB, _ := e.hub(collab.Options{Redis: testdb.Redis(t), RedisPrefix: prefix, LeaseTTL: 300 * time.Millisecond,
			BeforeWrite: func(string, string, string) { bWrites.Add(1); e.signal() }})
		b := e.connect(hB, "late.txt", true)
		e.converge("base\nonetwo", b)
		e.onDisk("late.txt", "base\nonetwo") // B took the lease and wrote the file
		b.insert(11, "three")
		e.onDisk("late.txt", "base\nonetwothree")

		written := bWrites.Load()
		hA.Abort()
		close(gate) // A's write lands
		e.waitUntil("B to write the document over A's late write", func() bool { return bWrites.Load() > written })
		e.onDisk("late.txt", "base\nonetwothree")
		if got := b.text(); !strings.Contains(got, "three") {
			t.Fatalf("B's client has %q: the late write undid recent text", got)
		}
	})
}
