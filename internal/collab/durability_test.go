package collab_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"ecode/internal/collab"
	"ecode/internal/store"
	"ecode/internal/testutil"
	"ecode/internal/yjs"
)

// logged is the text of a document as the store has it.
func (e *env) logged(path string) string {
	e.t.Helper()
	d, err := e.st.CollabLoad(context.Background(), e.project, path, -1)
	if err != nil {
		e.t.Fatal(err)
	}
	doc := yjs.NewDoc()
	if err := doc.ApplyUpdate(d.Snapshot); err != nil {
		e.t.Fatal(err)
	}
	for _, u := range d.Updates {
		if err := doc.ApplyUpdate(u.Data); err != nil {
			e.t.Fatal(err)
		}
	}
	return doc.Text(collab.TextName)
}

// A viewer is sent an update only once it is logged: it could not give it
// back if the node died (its updates are dropped). Editors may get it
// while it is being logged.
func TestViewersSeeLoggedUpdatesOnly(t *testing.T) {
	e := newEnv(t, testutil.NewStore(t, store.SQLite))
	e.write("v.txt", "")
	h, _ := e.hub(collab.Options{})
	a := e.connect(h, "v.txt", true)
	b := e.connect(h, "v.txt", true)
	w := e.connect(h, "v.txt", false)
	e.converge("", a, b, w)
	for i := 0; i < 50; i++ {
		a.insert(i, "x")
		want := strings.Repeat("x", i+1)
		e.converge(want, w)
		if got := e.logged("v.txt"); got != want {
			t.Fatalf("the viewer has %q, the store %q", want, got)
		}
	}
	e.converge(strings.Repeat("x", 50), b)
}

// An editor hands back on reconnecting what the server lacks: an update
// relayed to it before the node logged it survives the node dying, even
// with its sender gone.
func TestEditorGivesBackWhatTheNodeLost(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.write("l.txt", "base\n")
		h1, _ := e.hub(collab.Options{FlushDelay: time.Hour, FlushMaxDelay: time.Hour, LeaseTTL: 300 * time.Millisecond})
		a := e.connect(h1, "l.txt", true)
		b := e.connect(h1, "l.txt", true)
		e.converge("base\n", a, b)
		// a types; the node relays it to b, then dies before logging it
		a.mu.Lock()
		u, err := a.doc.InsertText(collab.TextName, 5, "typed", a.id)
		a.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		b.mu.Lock()
		err = b.doc.ApplyUpdate(u)
		b.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		h1.Abort()
		e.waitUntil("b to lose its connection", b.closed)
		if got := e.logged("l.txt"); got != "base\n" {
			t.Fatalf("the store has %q before b is back", got)
		}
		h2, _ := e.hub(collab.Options{})
		b2 := e.connectDoc(h2, "l.txt", true, b.clone(), b.id)
		w := e.connect(h2, "l.txt", false) // a viewer: sees what is logged
		e.converge("base\ntyped", b2, w)
		e.onDisk("l.txt", "base\ntyped")
	})
}
