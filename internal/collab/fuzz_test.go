package collab_test

import (
	"strings"
	"testing"

	"ecode/internal/collab"
	"ecode/internal/store"
	"ecode/internal/testutil"
	"ecode/internal/yjs"
	"ecode/internal/yjs/protocol"
)

// FuzzClientMessage sends one arbitrary message to a room: the connection
// is closed with a documented code or stays usable, and the room keeps
// working for everyone else.
func FuzzClientMessage(f *testing.F) {
	d := yjs.NewDoc()
	up, _ := d.InsertText(collab.TextName, 0, "hé😀", 99)
	del, _ := d.DeleteText(collab.TextName, 1, 2, 99)
	f.Add(protocol.EncodeUpdate(up))
	f.Add(protocol.EncodeSyncStep2(del))
	f.Add(protocol.EncodeSyncStep1(d.StateVector()))
	f.Add(protocol.EncodeAwareness(protocol.EncodeAwarenessUpdate([]protocol.AwarenessEntry{{ClientID: 1, Clock: 1, State: `{"user":{"name":"x"}}`}})))
	f.Add(protocol.EncodeQueryAwareness())
	f.Add([]byte{collab.MessageFlush})
	f.Add([]byte{0, 2, 5, 1, 1, 1, 0, 4})
	f.Add([]byte{})

	e := newEnv(f, testutil.NewStore(f, store.SQLite))
	e.write("f.txt", "fuzz")
	h, _ := e.hub(collab.Options{MessageRate: 1e6, MessageBurst: 1e6})
	good := e.connect(h, "f.txt", true)
	e.converge("fuzz", good)
	allowed := map[int]bool{collab.CloseUnsupported: true, collab.CloseInvalid: true, collab.ClosePolicy: true, collab.CloseTooBig: true}
	n := 0
	f.Fuzz(func(t *testing.T, msg []byte) {
		e.t = t
		bad := e.connect(h, "f.txt", true)
		bad.send(msg)
		n++
		marker := "<" + strings.Repeat("m", n%7+1) + ">"
		good.insert(0, marker)
		e.waitUntil("the good client's edit to come back", func() bool { return strings.HasPrefix(good.text(), marker) })
		fresh := e.connect(h, "f.txt", false)
		e.waitUntil("a new client to sync", func() bool { return fresh.isSynced() && fresh.text() == good.text() })
		if bad.closed() && !allowed[bad.p.code] {
			t.Fatalf("message %x closed the connection with %d %q", msg, bad.p.code, bad.p.reason)
		}
		bad.p.Close(1000, "")
		fresh.p.Close(1000, "")
	})
}
