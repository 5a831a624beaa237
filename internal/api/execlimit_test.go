package api_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"ecode/internal/client"
	"ecode/internal/config"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

type execAnswer struct {
	ExitCode  int    `json:"exit_code"`
	Stdout    string `json:"stdout"`
	Truncated bool   `json:"truncated"`
}

// execStatus runs command in project id and returns the HTTP status (and
// the error code of a refusal).
func execStatus(c *client.Client, id, command string) (int, string, execAnswer) {
	var out execAnswer
	err := call(c, "POST", "/api/projects/"+id+"/exec", map[string]any{"command": command, "timeout_s": 120}, &out)
	var e *client.Error
	switch {
	case err == nil:
		return 200, "", out
	case errors.As(err, &e):
		return e.Status, e.Code, out
	}
	return 0, err.Error(), out
}

// TestExecFloodIsCapped is the exec flood of issue 9 on a small scale: a
// user floods exec; commands over the per-user cap answer 429
// too_many_execs (never 500), a second user in the same project meets the
// per-project cap, another project's user is unaffected, memory stays flat,
// and the held commands finish once released.
func TestExecFloodIsCapped(t *testing.T) {
	srv := testutil.NewServer(t, testutil.NewStore(t, store.SQLite), testutil.ServerOptions{
		Config: func(c *config.Config) { c.MaxExecsPerUser, c.MaxExecsPerProj = 2, 3 }})
	testutil.RequireSandbox(t, testutil.NewSandbox(t))
	ctx := context.Background()
	a, c, b := srv.User(t, "alice"), srv.User(t, "carol"), srv.User(t, "bob")
	p, err := a.CreateProject(ctx, "flood", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.AddMember(ctx, p.ID, "carol@example.test", "editor"); err != nil {
		t.Fatal(err)
	}
	q, err := b.CreateProject(ctx, "quiet", "")
	if err != nil {
		t.Fatal(err)
	}
	// Held commands wait for a file the test writes at the end.
	const hold = `while [ ! -e /workspace/release ]; do sleep 0.05; done; echo done`
	base := heapNow()
	stop := heapSampler()
	var mu sync.Mutex
	count := map[string]int{}
	var held sync.WaitGroup
	flood := func(who *client.Client, name string, n int) {
		for range n {
			held.Add(1)
			go func() {
				defer held.Done()
				status, code, out := execStatus(who, p.ID, hold)
				mu.Lock()
				count[name+" "+http.StatusText(status)+" "+code]++
				mu.Unlock()
				if status == 200 && !strings.Contains(out.Stdout, "done") {
					t.Errorf("held command output %q", out.Stdout)
				}
			}()
		}
	}
	flood(a, "alice", 100)
	// Bob's project is not affected while Alice's commands hold their slots.
	if status, code, out := execStatus(b, q.ID, "echo hi"); status != 200 || strings.TrimSpace(out.Stdout) != "hi" {
		t.Errorf("bob's exec in another project: %d %s %+v", status, code, out)
	}
	waitCount := func(key string, n int) {
		t.Helper()
		for range 2000 { // bounded: refusals answer at once
			mu.Lock()
			got := count[key]
			mu.Unlock()
			if got >= n {
				return
			}
			if status, _, _ := execStatus(b, q.ID, "true"); status != 200 {
				t.Fatalf("bob's exec failed meanwhile: %d", status)
			}
		}
		t.Fatalf("never saw %d × %q: %v", n, key, count)
	}
	waitCount("alice Too Many Requests too_many_execs", 98)
	flood(c, "carol", 3) // the project allows 3: Alice holds 2, Carol gets 1
	waitCount("carol Too Many Requests too_many_execs", 2)
	if err := a.WriteFile(ctx, p.ID, "release", []byte("go")); err != nil {
		t.Fatal(err)
	}
	held.Wait()
	peak := stop()
	t.Logf("exec flood: %v; heap in use %d MiB before, peak %d MiB", count, base>>20, peak>>20)
	want := map[string]int{"alice OK ": 2, "alice Too Many Requests too_many_execs": 98,
		"carol OK ": 1, "carol Too Many Requests too_many_execs": 2}
	for k, v := range want {
		if count[k] != v {
			t.Errorf("%q: %d, want %d (all: %v)", k, count[k], v, count)
		}
	}
	if growth := int64(peak) - int64(base); growth > 150<<20 {
		t.Errorf("heap grew by %d MiB", growth>>20)
	}
	// Output is capped at 1 MiB per stream, with a flag.
	if status, _, out := execStatus(a, p.ID, "head -c 3000000 /dev/zero | tr '\\0' x"); status != 200 || !out.Truncated || len(out.Stdout) > 1<<20+100 {
		t.Errorf("big output: %d, truncated %v, %d bytes", status, out.Truncated, len(out.Stdout))
	}
}
