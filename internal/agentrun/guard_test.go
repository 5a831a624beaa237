package agentrun

import (
	"context"
	"testing"
	"time"

	"ecode/internal/agent"
)

type countingCP struct{ labels []string }

func (c *countingCP) Checkpoint(_ context.Context, label string, _ agent.TurnCost) (string, error) {
	c.labels = append(c.labels, label)
	return "cp", nil
}

type okShell struct{}

func (okShell) Exec(context.Context, string, time.Duration) (agent.ExecResult, error) {
	return agent.ExecResult{}, nil
}

type okDB struct{}

func (okDB) Query(context.Context, string, bool) (string, error) { return "", nil }

func TestDestructiveStepsAreCheckpointedFirst(t *testing.T) {
	cp := &countingCP{}
	env := agent.Env{Shell: okShell{}, DB: okDB{}, Checkpoints: cp}
	guard(&env)
	ctx := context.Background()
	for cmd, destructive := range map[string]bool{
		"rm -rf build": true, "ls && rm -r src": true, "git reset --hard HEAD~1": true, "git clean -fd": true,
		"find . -name '*.tmp' -delete": true, "rm notes.txt": false, "npm test": false, "echo rm -rf": false, "ls -la": false,
	} {
		before := len(cp.labels)
		env.Shell.Exec(ctx, cmd, time.Second)
		if got := len(cp.labels) > before; got != destructive {
			t.Errorf("%q: checkpointed=%v, want %v", cmd, got, destructive)
		}
	}
	before := len(cp.labels)
	env.DB.Query(ctx, "DROP TABLE notes", true)
	env.DB.Query(ctx, "delete from notes where id = 1", true)
	env.DB.Query(ctx, "select * from notes", false)
	env.DB.Query(ctx, "insert into notes values (1)", true)
	if got := len(cp.labels) - before; got != 2 {
		t.Errorf("destructive SQL checkpoints = %d, want 2 (%v)", got, cp.labels)
	}
}
