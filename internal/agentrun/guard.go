package agentrun

import (
	"context"
	"regexp"
	"time"

	"ecode/internal/agent"
)

// Destructive steps get an automatic checkpoint first, so whatever they
// destroy can be brought back with one restore. The platform enforces this,
// not the prompt.
var (
	destructiveShell = regexp.MustCompile(`(?i)(^|[;&|(\s])(rm\s+(-[a-z]*[rf][a-z]*\s+|--recursive|--force)|git\s+(reset\s+--hard|clean\s+-[a-z]*f|checkout\s+--\s|restore\s)|truncate\s|dd\s|mkfs|find\s.*-delete|shred\s)`)
	destructiveSQL   = regexp.MustCompile(`(?i)\b(drop\s+(table|index|view|trigger)|delete\s+from|truncate|alter\s+table\s+\S+\s+drop|update\s+\S+\s+set)\b`)
)

// guardedShell checkpoints the project before a destructive command.
type guardedShell struct {
	agent.Shell
	cp agent.Checkpointer
}

func (g guardedShell) Exec(ctx context.Context, command string, timeout time.Duration) (agent.ExecResult, error) {
	if destructiveShell.MatchString(command) {
		if _, err := g.cp.Checkpoint(ctx, "Before: "+shorten(command, 80), agent.TurnCost{}); err != nil {
			return agent.ExecResult{}, err
		}
	}
	return g.Shell.Exec(ctx, command, timeout)
}

// guardedDB checkpoints the project (its database included) before a
// destructive write.
type guardedDB struct {
	agent.Database
	cp agent.Checkpointer
}

func (g guardedDB) Query(ctx context.Context, sql string, allowWrite bool) (string, error) {
	if allowWrite && destructiveSQL.MatchString(sql) {
		if _, err := g.cp.Checkpoint(ctx, "Before: "+shorten(sql, 80), agent.TurnCost{}); err != nil {
			return "", err
		}
	}
	return g.Database.Query(ctx, sql, allowWrite)
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// guard wraps env's shell and database when checkpoints are available.
func guard(env *agent.Env) {
	if env.Checkpoints == nil {
		return
	}
	if env.Shell != nil {
		env.Shell = guardedShell{Shell: env.Shell, cp: env.Checkpoints}
	}
	if env.DB != nil {
		env.DB = guardedDB{Database: env.DB, cp: env.Checkpoints}
	}
}
