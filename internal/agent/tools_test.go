package agent

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func callTool(t *testing.T, p *project, sess *Session, name string, in map[string]any) toolOutput {
	t.Helper()
	for _, tl := range buildTools(p.env()) {
		if tl.spec.Name == name {
			b, _ := json.Marshal(in)
			m, _ := parseInput(b)
			return tl.run(context.Background(), &toolCtx{env: p.env(), sess: sess}, m)
		}
	}
	t.Fatalf("no tool %s", name)
	return toolOutput{}
}

func TestEditTool(t *testing.T) {
	p := newProject(t)
	sess := &Session{}
	ctx := context.Background()
	p.files.WriteFile(ctx, "a.js", []byte("let x = 1;\nlet y = 1;\nfunction f() {\n    return x;\n}\n"))
	o := callTool(t, p, sess, "edit", map[string]any{"file_path": "a.js", "old_string": "x = 1", "new_string": "x = 2"})
	if !o.IsError || !strings.Contains(o.Text, "not been read") {
		t.Errorf("edit before read: %+v", o)
	}
	callTool(t, p, sess, "read", map[string]any{"file_path": "a.js"})
	cases := []struct {
		in   map[string]any
		want string
	}{
		{map[string]any{"file_path": "a.js", "old_string": " = 1;", "new_string": " = 3;"}, "appears 2 times in a.js (at lines 1, 2)"},
		{map[string]any{"file_path": "a.js", "old_string": "return y;", "new_string": "return 0;"}, "not found"},
		{map[string]any{"file_path": "a.js", "old_string": "function f() {\n  return x;", "new_string": "z"}, "matches line 3"},
		{map[string]any{"file_path": "a.js", "old_string": "x", "new_string": "x"}, "the same"},
		{map[string]any{"file_path": "nope.js", "old_string": "x", "new_string": "y"}, "does not exist"},
		{map[string]any{"file_path": "../etc/passwd", "old_string": "x", "new_string": "y"}, "leaves the project"},
	}
	for _, c := range cases {
		o := callTool(t, p, sess, "edit", c.in)
		if !o.IsError || !strings.Contains(o.Text, c.want) {
			t.Errorf("%v: %q, want %q", c.in, o.Text, c.want)
		}
	}
	o = callTool(t, p, sess, "edit", map[string]any{"file_path": "a.js", "old_string": " = 1;", "new_string": " = 3;", "replace_all": true})
	if o.IsError || o.Added != 2 || o.Removed != 2 {
		t.Errorf("replace_all: %+v", o)
	}
	// changed behind the agent's back
	p.files.WriteFile(ctx, "a.js", []byte("other\n"))
	o = callTool(t, p, sess, "write", map[string]any{"file_path": "a.js", "content": "new\n"})
	if !o.IsError || !strings.Contains(o.Text, "changed since") {
		t.Errorf("stale write: %+v", o)
	}
}

func TestReadGlobGrep(t *testing.T) {
	p := newProject(t)
	sess := &Session{}
	ctx := context.Background()
	p.files.WriteFile(ctx, "src/app.js", []byte("const port = 3000;\nconsole.log(port);\n"))
	p.files.WriteFile(ctx, "src/lib/util.js", []byte("export const PORT = 1;\n"))
	p.files.WriteFile(ctx, "node_modules/x/index.js", []byte("port\n"))
	p.files.WriteFile(ctx, "README.md", []byte("# demo\n"))
	if o := callTool(t, p, sess, "read", map[string]any{"file_path": "src/app.js", "offset": 2, "limit": 1}); o.Text != "     2\tconsole.log(port);\n" {
		t.Errorf("read: %q", o.Text)
	}
	if o := callTool(t, p, sess, "glob", map[string]any{"pattern": "**/*.js"}); o.Text != "src/app.js\nsrc/lib/util.js" {
		t.Errorf("glob: %q", o.Text)
	}
	if o := callTool(t, p, sess, "grep", map[string]any{"pattern": "port", "case_insensitive": true, "glob": "*.js"}); o.Text != "src/app.js:1: const port = 3000;\nsrc/app.js:2: console.log(port);\nsrc/lib/util.js:1: export const PORT = 1;\n" {
		t.Errorf("grep: %q", o.Text)
	}
	if o := callTool(t, p, sess, "list", nil); !strings.Contains(o.Text, "src/lib/util.js") || strings.Contains(o.Text, "node_modules/x") {
		t.Errorf("list: %q", o.Text)
	}
}

func TestBashSecretsSQL(t *testing.T) {
	p := newProject(t)
	sess := &Session{}
	// long output keeps head and tail
	o := callTool(t, p, sess, "bash", map[string]any{"command": "seq 1 20000"})
	if o.IsError || !strings.HasPrefix(o.Text, "1\n2\n") || !strings.HasSuffix(o.Text, "19999\n20000\n") || !strings.Contains(o.Text, "lines cut") || len(o.Text) > outHead+outTail+100 {
		t.Errorf("bash head/tail: %d bytes", len(o.Text))
	}
	if o := callTool(t, p, sess, "bash", map[string]any{"command": "exit 3"}); !o.IsError || !strings.Contains(o.Text, "exit code: 3") {
		t.Errorf("exit: %+v", o)
	}
	if o := callTool(t, p, sess, "bash", map[string]any{"command": "sleep 5", "timeout_ms": 1000}); !o.IsError || !strings.Contains(o.Text, "timed out") {
		t.Errorf("timeout: %+v", o)
	}
	if o := callTool(t, p, sess, "secrets", nil); !strings.Contains(o.Text, "API_TOKEN") || strings.Contains(o.Text, "s3cr3t") {
		t.Errorf("secrets: %q", o.Text)
	}
	if o := callTool(t, p, sess, "sql", map[string]any{"query": "DELETE FROM todos"}); !o.IsError || len(p.db.queries) != 0 {
		t.Errorf("sql write without allow_write: %+v", o)
	}
	if o := callTool(t, p, sess, "sql", map[string]any{"query": "select * from todos"}); o.IsError {
		t.Errorf("sql read: %+v", o)
	}
	_ = time.Second
}

// Secret values never reach the model or the events.
func TestRedaction(t *testing.T) {
	p := newProject(t)
	srv, prov := anthropicFake(t, oneStepTool("bash", map[string]any{"command": "echo token=s3cr3t-value-42"}))
	run(t, p, p.config(prov), "print the token", Mode{})
	noFailures(t, srv)
	for _, r := range srv.Requests() {
		if strings.Contains(string(r.Raw), `s3cr3t-value-42\n`) {
			t.Error("secret value sent to the model")
		}
	}
	if !strings.Contains(string(srv.Requests()[1].Raw), "token=[secret API_TOKEN]") {
		t.Error("redacted output not sent")
	}
	for _, e := range p.rec.of(EvToolResult) {
		if strings.Contains(e.Result, "s3cr3t") || !strings.Contains(e.Result, "[secret API_TOKEN]") {
			t.Errorf("event result %q", e.Result)
		}
	}
}
