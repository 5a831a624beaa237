package agent

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// Tool limits.
const (
	readMaxBytes    = 256 << 10
	readDefLines    = 2000
	readMaxLineLen  = 2000
	globMax         = 200
	grepMaxBytes    = 100 << 10
	grepMaxFileSize = 8 << 20
	walkMaxEntries  = 50000
	bashDefTimeout  = 120 * time.Second
	bashMaxTimeout  = 600 * time.Second
	outHead         = 10000 // characters kept from the start of long output
	outTail         = 20000 // and from the end
)

type toolOutput struct {
	Text           string
	IsError        bool
	Path           string
	Diff           string
	Added, Removed int
	Ask            bool
	Images         []Image
	SecretRequest  *SecretRequest // with Ask: the user is asked for a secret's value
}

// SecretRequest is the agent asking the user for a secret it lacks; the
// value goes from the user to the secret store, never to the model.
type SecretRequest struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

func errOut(format string, a ...any) toolOutput {
	return toolOutput{Text: fmt.Sprintf(format, a...), IsError: true}
}

type tool struct {
	spec     ToolSpec
	readOnly func(in map[string]any) bool
	run      func(ctx context.Context, t *toolCtx, in map[string]any) toolOutput
}

type toolCtx struct {
	env  Env
	sess *Session
	mu   sync.Mutex // read-only tools run in parallel and record reads
}

func (t *toolCtx) markRead(p string, data []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sess.markRead(p, data)
}

func (t *toolCtx) readHash(p string) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	h, ok := t.sess.ReadHashes[p]
	return h, ok
}

func always(bool) func(map[string]any) bool { return func(map[string]any) bool { return true } }
func never(map[string]any) bool             { return false }

func obj(required []string, props map[string]any) map[string]any {
	m := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		m["required"] = required
	}
	return m
}
func str(desc string) map[string]any { return map[string]any{"type": "string", "description": desc} }
func num(desc string) map[string]any { return map[string]any{"type": "integer", "description": desc} }
func boolean(desc string) map[string]any {
	return map[string]any{"type": "boolean", "description": desc}
}

func sArg(in map[string]any, k string) string {
	s, _ := in[k].(string)
	return s
}
func iArg(in map[string]any, k string, def int) int {
	switch v := in[k].(type) {
	case float64:
		return int(v)
	case string:
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return def
}
func bArg(in map[string]any, k string) bool { b, _ := in[k].(bool); return b }

// buildTools returns the tools the env supports, in a fixed order (the
// order is part of the cached prompt prefix).
func buildTools(env Env) []tool {
	var ts []tool
	if env.Files != nil {
		ts = append(ts,
			tool{ToolSpec{"read", "Read a project file. Returns numbered lines (cat -n style). Use offset/limit for big files. Read a file before editing it. Batch independent reads in one turn: they run in parallel.",
				obj([]string{"file_path"}, map[string]any{"file_path": str("path relative to the project root"), "offset": num("1-based first line"), "limit": num("number of lines (default 2000)")})}, always(true), toolRead},
			tool{ToolSpec{"list", "List files and folders under a path (recursive, skips node_modules and .git).",
				obj(nil, map[string]any{"path": str("folder, default the project root")})}, always(true), toolList},
			tool{ToolSpec{"glob", "Find files by name pattern such as **/*.js (at most 200, sorted).",
				obj([]string{"pattern"}, map[string]any{"pattern": str("glob pattern, ** matches any depth"), "path": str("folder to search in")})}, always(true), toolGlob},
			tool{ToolSpec{"grep", "Search file contents with a regular expression. Returns path:line: text.",
				obj([]string{"pattern"}, map[string]any{"pattern": str("RE2 regular expression"), "path": str("folder"), "glob": str("only files matching this glob"), "case_insensitive": boolean("ignore case")})}, always(true), toolGrep},
			tool{ToolSpec{"write", "Create a file or replace it entirely. Prefer edit for changes to existing files: it costs far fewer tokens. An existing file must be read first.",
				obj([]string{"file_path", "content"}, map[string]any{"file_path": str("path"), "content": str("the whole file")})}, never, toolWrite},
			tool{ToolSpec{"edit", "Replace an exact string in a file. old_string must match exactly once (include surrounding lines to make it unique) unless replace_all is true.",
				obj([]string{"file_path", "old_string", "new_string"}, map[string]any{"file_path": str("path"), "old_string": str("exact text to replace"), "new_string": str("replacement"), "replace_all": boolean("replace every occurrence")})}, never, toolEdit},
		)
	}
	if env.Shell != nil {
		ts = append(ts, tool{ToolSpec{"bash", "Run a shell command in the project folder. Output is capped (head and tail kept). Do not use it to read or search files: use read, grep, glob. Do not start servers here: use run_app.",
			obj([]string{"command"}, map[string]any{"command": str("command line"), "timeout_ms": num("default 120000, max 600000")})}, never, toolBash})
	}
	if env.App != nil {
		ts = append(ts,
			tool{ToolSpec{"run_app", "Start, stop or restart the project's app (its run command).",
				obj([]string{"action"}, map[string]any{"action": map[string]any{"type": "string", "enum": []string{"start", "stop", "restart"}}})}, never, toolRunApp},
			tool{ToolSpec{"app_logs", "Read the last lines of the running app's output.",
				obj(nil, map[string]any{"tail": num("lines, default 200")})}, always(true), toolAppLogs},
			tool{ToolSpec{"preview_check", "Request a path from the running app's preview: HTTP status and the start of the body. Use it to verify your work.",
				obj(nil, map[string]any{"path": str("URL path, default /")})}, always(true), toolPreview},
		)
	}
	if env.Packages != nil {
		ts = append(ts, tool{ToolSpec{"install_packages", "Install dependencies with the project's package manager (npm, pip, go…), updating the manifest.",
			obj([]string{"packages"}, map[string]any{"manager": str("npm|pip|go|… (auto-detected if empty)"), "packages": map[string]any{"type": "array", "items": map[string]any{"type": "string"}}})}, never, toolInstall})
	}
	if env.DB != nil {
		ts = append(ts, tool{ToolSpec{"sql", "Run SQL on the project's database. Without allow_write only SELECT/EXPLAIN/WITH/PRAGMA/SHOW are accepted.",
			obj([]string{"query"}, map[string]any{"query": str("one statement"), "allow_write": boolean("allow changes")})}, func(in map[string]any) bool { return !bArg(in, "allow_write") }, toolSQL})
	}
	if env.Secrets != nil {
		ts = append(ts, tool{ToolSpec{"secrets", "List the names of the project's secrets (environment variables). Values are never shown. " +
			"To get a missing one (an API key, a password), pass request with its NAME and a reason: the user types the value into the Secrets store and it reaches the app as an environment variable; you never see it. Ends your turn.",
			obj(nil, map[string]any{"request": str("NAME of a secret to ask the user for (letters, digits, _)"), "reason": str("why it is needed, shown to the user")})},
			func(in map[string]any) bool { return sArg(in, "request") == "" }, toolSecrets})
	}
	ts = append(ts,
		tool{ToolSpec{"todo_write", "Replace your plan: the whole todo list, at most one item in_progress.",
			obj([]string{"todos"}, map[string]any{"todos": map[string]any{"type": "array", "items": obj([]string{"content", "status"}, map[string]any{"content": str("task"), "status": map[string]any{"type": "string", "enum": []string{"pending", "in_progress", "completed"}}})}})}, never, toolTodo},
		tool{ToolSpec{"ask_user", "Ask the user a question when you cannot proceed without an answer. Ends your turn; the answer comes back as this tool's result.",
			obj([]string{"question"}, map[string]any{"question": str("the question"), "options": map[string]any{"type": "array", "items": map[string]any{"type": "string"}}})}, never, toolAsk},
	)
	return ts
}
