package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"ecode/internal/store"
	"ecode/internal/testutil"
)

func TestAgentTurns(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		mkUser(t, st, "ua", "a@x.test")
		if _, err := st.CreateProject(ctx, store.Project{ID: "p1", Name: "p1", OwnerID: "ua", CreatedAt: t0, UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if s, err := st.AgentSession(ctx, "p1"); err != nil || s != nil {
			t.Fatalf("empty session = %q, %v", s, err)
		}
		for i, data := range []string{`{"messages":[]}`, `{"messages":[1]}`} {
			if err := st.SaveAgentSession(ctx, "p1", []byte(data), t0.Add(time.Duration(i)*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		if s, err := st.AgentSession(ctx, "p1"); err != nil || string(s) != `{"messages":[1]}` {
			t.Fatalf("session = %q, %v", s, err)
		}
		turn := func(i int, id, node string) error {
			return st.CreateAgentTurn(ctx, store.AgentTurn{ID: id, ProjectID: "p1", UserID: "ua", Prompt: "do " + id, NodeID: node,
				Mode: json.RawMessage(`{"high_power":true}`), Status: "running", CreatedAt: t0.Add(time.Duration(i) * time.Second)})
		}
		if err := turn(0, "t1", "n1"); err != nil {
			t.Fatal(err)
		}
		// One running turn per project, whichever node asks.
		if err := turn(1, "t1b", "n2"); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("a second running turn: %v, want ErrConflict", err)
		}
		evs := []store.AgentEvent{{Seq: 1, Type: "turn_started", Data: json.RawMessage(`{"type":"turn_started","seq":1}`)},
			{Seq: 2, Type: "text_delta", Data: json.RawMessage(`{"type":"text_delta","seq":2,"text":"hi\u0000"}`)}}
		if err := st.AppendAgentEvents(ctx, "t1", evs); err != nil {
			t.Fatal(err)
		}
		if err := st.FinishAgentTurn(ctx, "t1", "finished", "end_turn", json.RawMessage(`{"stop_reason":"end_turn"}`), t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := turn(1, "t2", "n2"); err != nil {
			t.Fatal(err)
		}
		// Another node's start leaves n2's running turn alone.
		if err := st.FailRunningAgentTurns(ctx, t0.Add(time.Hour), "n1"); err != nil {
			t.Fatal(err)
		}
		if ts, _ := st.AgentTurns(ctx, "p1", 10, false); len(ts) != 2 || ts[1].Status != "running" {
			t.Fatalf("n1's start ended n2's turn: %+v", ts)
		}
		if err := st.FailRunningAgentTurns(ctx, t0.Add(time.Hour), "n2"); err != nil {
			t.Fatal(err)
		}
		turns, err := st.AgentTurns(ctx, "p1", 10, true)
		if err != nil || len(turns) != 2 {
			t.Fatalf("turns %+v, %v", turns, err)
		}
		a, b := turns[0], turns[1]
		if a.ID != "t1" || a.Status != "finished" || a.StopReason != "end_turn" || a.FinishedAt == nil || !a.FinishedAt.Equal(t0.Add(time.Minute)) ||
			string(a.Mode) != `{"high_power":true}` || len(a.Events) != 2 || a.Events[1].Type != "text_delta" {
			t.Errorf("t1 = %+v", a)
		}
		if b.ID != "t2" || b.Status != "failed" || b.StopReason != "interrupted" || len(b.Events) != 0 {
			t.Errorf("t2 = %+v", b)
		}
		if err := st.FinishAgentTurn(ctx, "nope", "finished", "", nil, t0); err == nil {
			t.Error("finishing an unknown turn succeeded")
		}
	})
}
