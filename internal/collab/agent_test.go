package collab_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ecode/internal/collab"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

var agentActor = collab.Actor{Name: "Agent", Color: "#a855f7"}

type agentState struct {
	User struct {
		Name  string `json:"name"`
		Color string `json:"color"`
	} `json:"user"`
	Cursor struct {
		Anchor map[string]any `json:"anchor"`
		Head   map[string]any `json:"head"`
	} `json:"cursor"`
}

// agentAwareness returns the agent's awareness state as c sees it.
func (c *client) agentAwareness(project string) (agentState, bool) {
	c.mu.Lock()
	s, ok := c.awareness[collab.AgentClientID(project, agentActor)]
	c.mu.Unlock()
	var st agentState
	if ok {
		if err := json.Unmarshal([]byte(s), &st); err != nil {
			c.e.t.Fatalf("agent state %s: %v", s, err)
		}
	}
	return st, ok
}

// An agent edit reaches every open editor as a Yjs update of the agent's
// client, is on disk when AgentEdit returns, and comes with an awareness
// state named "Agent" whose cursor follows the last inserted character.
func TestAgentEditIsLiveWithCursor(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.write("app.py", "one\ntwo\n")
		h, _ := e.hub(collab.Options{FlushDelay: time.Hour, FlushMaxDelay: time.Hour, PollInterval: time.Hour})
		a := e.connect(h, "app.py", true)
		e.converge("one\ntwo\n", a)
		want := "one\nTWO\nthree\n"
		if err := h.AgentEdit(context.Background(), e.project, "app.py", want, agentActor); err != nil {
			t.Fatal(err)
		}
		if got := e.read("app.py"); got != want { // written before AgentEdit returned
			t.Fatalf("file %q, want %q", got, want)
		}
		e.converge(want, a)
		id := collab.AgentClientID(e.project, agentActor)
		if id <= 1<<32 || id == collab.ServerClientID {
			t.Fatalf("agent client id %d may be a browser's", id)
		}
		if got := a.clone().ClientState(id); got == 0 {
			t.Fatal("the edit was not made by the agent's client")
		}
		var s agentState
		e.waitUntil("the agent's awareness state", func() bool {
			var ok bool
			s, ok = a.agentAwareness(e.project)
			return ok
		})
		if s.User.Name != "Agent" || s.User.Color != agentActor.Color {
			t.Fatalf("user %+v", s.User)
		}
		// "two\n" → "TWO\nthree\n" is one edit (4, -3, "TWO\nthree"): the
		// cursor is after its last unit, the agent's clock 8, associated left
		anchor := s.Cursor.Anchor
		item, _ := anchor["item"].(map[string]any)
		if anchor["tname"] != collab.TextName || anchor["type"] != nil || anchor["assoc"] != float64(-1) ||
			item == nil || item["client"] != float64(id) || item["clock"] != float64(8) {
			t.Fatalf("anchor %v", anchor)
		}
		if b, _ := json.Marshal(s.Cursor.Head); string(b) != mustJSON(t, anchor) {
			t.Fatalf("head %s differs from anchor", b)
		}

		// a second edit on a stable id continues the agent's clocks
		if err := h.AgentEdit(context.Background(), e.project, "app.py", "one\nTWO\nthree\nfour\n", agentActor); err != nil {
			t.Fatal(err)
		}
		e.converge("one\nTWO\nthree\nfour\n", a)

		// the turn ends: the state is removed
		h.AgentDone(e.project, agentActor)
		e.waitUntil("the agent's state to be removed", func() bool {
			_, ok := a.agentAwareness(e.project)
			return !ok
		})
		// a client joining later does not see it
		b := e.connect(h, "app.py", true)
		e.converge("one\nTWO\nthree\nfour\n", b)
		if _, ok := b.agentAwareness(e.project); ok {
			t.Fatal("a removed agent state was sent to a new client")
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Text typed but not yet written survives an agent edit made on the text
// the agent read from disk, and people typing while the agent edits
// converge with it.
func TestAgentEditKeepsConcurrentTyping(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.write("notes.md", "alpha\nbeta\ngamma\n")
		h, _ := e.hub(collab.Options{FlushDelay: time.Hour, FlushMaxDelay: time.Hour, PollInterval: time.Hour})
		a := e.connect(h, "notes.md", true)
		b := e.connect(h, "notes.md", true)
		e.converge("alpha\nbeta\ngamma\n", a, b)
		a.insert(0, "zero\n") // typed, not on disk
		e.converge("zero\nalpha\nbeta\ngamma\n", a, b)
		// the agent read the disk (without "zero") and changes "beta"
		if err := h.AgentEdit(context.Background(), e.project, "notes.md", "alpha\nBETA\ngamma\n", agentActor); err != nil {
			t.Fatal(err)
		}
		want := "zero\nalpha\nBETA\ngamma\n"
		e.converge(want, a, b)
		if got := e.read("notes.md"); got != want {
			t.Fatalf("file %q, want %q", got, want)
		}

		// now b types at the end while the agent appends lines
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := range 20 {
				// like the agent's edit tool: read the file, change it, write it
				cur, err := os.ReadFile(filepath.Join(e.files.Dir(e.project), "notes.md"))
				if err != nil {
					t.Error(err)
					return
				}
				text := string(cur) + "agent " + string(rune('a'+i)) + "\n"
				if err := h.AgentEdit(context.Background(), e.project, "notes.md", text, agentActor); err != nil {
					t.Error(err)
					return
				}
			}
		})
		for range 20 {
			b.insert(0, "b")
		}
		wg.Wait()
		e.waitUntil("clients to agree", func() bool { return a.text() == b.text() })
		got := a.text()
		if !strings.HasPrefix(got, strings.Repeat("b", 20)) || !strings.Contains(got, "agent t\n") || !strings.Contains(got, "BETA\n") {
			t.Fatalf("merged text %q", got)
		}
		if err := h.Flush(context.Background(), e.project, "notes.md"); err != nil {
			t.Fatal(err)
		}
		e.onDisk("notes.md", got)
	})
}

// The agent's cursor goes away after Options.AgentIdle without edits.
func TestAgentCursorExpires(t *testing.T) {
	e := newEnv(t, testutil.NewStore(t, store.SQLite))
	e.write("x.txt", "x\n")
	clock := testutil.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	h, _ := e.hub(collab.Options{Now: clock.Now, AgentIdle: 10 * time.Second, PollInterval: 5 * time.Millisecond})
	a := e.connect(h, "x.txt", true)
	e.converge("x\n", a)
	if err := h.AgentEdit(context.Background(), e.project, "x.txt", "x\ny\n", agentActor); err != nil {
		t.Fatal(err)
	}
	e.converge("x\ny\n", a)
	e.waitUntil("the agent's state", func() bool { _, ok := a.agentAwareness(e.project); return ok })
	clock.Advance(9 * time.Second)
	// several polls at 9 s: still shown
	e.waitUntil("a poll", func() bool { return h.Flush(context.Background(), e.project, "x.txt") == nil })
	if _, ok := a.agentAwareness(e.project); !ok {
		t.Fatal("the cursor was cleared before AgentIdle")
	}
	clock.Advance(2 * time.Second)
	e.waitUntil("the agent's state to expire", func() bool { _, ok := a.agentAwareness(e.project); return !ok })
}

// Without an open document AgentEdit says so, and writes nothing.
func TestAgentEditNotOpen(t *testing.T) {
	e := newEnv(t, testutil.NewStore(t, store.SQLite))
	e.write("y.txt", "y\n")
	h, _ := e.hub(collab.Options{})
	err := h.AgentEdit(context.Background(), e.project, "y.txt", "z\n", agentActor)
	if !errors.Is(err, collab.ErrNotOpen) {
		t.Fatalf("err %v, want ErrNotOpen", err)
	}
	if got := e.read("y.txt"); got != "y\n" {
		t.Fatalf("file %q", got)
	}
}
