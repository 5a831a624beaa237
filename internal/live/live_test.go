package live

import (
	"context"
	"errors"
	"testing"
)

func TestEndMatchesOnlyWhatDependsOnIt(t *testing.T) {
	r := New()
	keys := map[string]Key{
		"a-s1":  {ProjectID: "p1", UserID: "a", SessionID: "s1"},
		"a-tok": {ProjectID: "p2", UserID: "a", TokenID: "t1"},
		"b-s2":  {ProjectID: "p1", UserID: "b", SessionID: "s2"},
		"b-any": {UserID: "b", SessionID: "s2"},
	}
	ctxs := map[string]context.Context{}
	for name, k := range keys {
		ctx, done := r.Track(context.Background(), k)
		defer done()
		ctxs[name] = ctx
	}
	ended := func() []string {
		var out []string
		for name, ctx := range ctxs {
			if ctx.Err() != nil {
				out = append(out, name)
			}
		}
		return out
	}
	if n := r.EndSession(""); n != 0 {
		t.Fatalf("an empty session id ended %d requests", n)
	}
	if n := r.EndMember("p1", "b"); n != 1 || ctxs["b-s2"].Err() == nil {
		t.Fatalf("EndMember(p1, b) ended %d; ended now: %v", n, ended())
	}
	if !errors.Is(context.Cause(ctxs["b-s2"]), Revoked) {
		t.Fatalf("cause = %v, want Revoked", context.Cause(ctxs["b-s2"]))
	}
	if n := r.EndToken("t1"); n != 1 || ctxs["a-tok"].Err() == nil {
		t.Fatalf("EndToken ended %d", n)
	}
	if n := r.EndProject("p1"); n != 1 || !errors.Is(context.Cause(ctxs["a-s1"]), ProjectDeleted) {
		t.Fatalf("EndProject ended %d, cause %v", n, context.Cause(ctxs["a-s1"]))
	}
	if ctxs["b-any"].Err() != nil {
		t.Fatal("a request on no project ended with a project")
	}
	if n := r.EndUser("b"); n != 1 || r.Len() != 0 {
		t.Fatalf("EndUser ended %d, %d left", n, r.Len())
	}
}

func TestDoneUnregisters(t *testing.T) {
	r := New()
	ctx, done := r.Track(context.Background(), Key{ProjectID: "p"})
	done()
	if r.Len() != 0 || ctx.Err() == nil {
		t.Fatalf("after done: %d registered, ctx err %v", r.Len(), ctx.Err())
	}
	if context.Cause(ctx) != context.Canceled {
		t.Fatalf("a normal end has cause %v", context.Cause(ctx))
	}
	if n := r.EndProject("p"); n != 0 {
		t.Fatalf("ended %d after done", n)
	}
}
