package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
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

func hashOf(b []byte) string { s := sha256.Sum256(b); return fmt.Sprintf("%x", s[:8]) }

func cleanPath(p string) (string, error) {
	p = strings.TrimPrefix(strings.TrimSpace(p), "./")
	if p == "" {
		return "", errors.New("file_path is required")
	}
	c := path.Clean(strings.TrimPrefix(p, "/"))
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("path %q leaves the project", p)
	}
	return c, nil
}

func toolRead(ctx context.Context, t *toolCtx, in map[string]any) toolOutput {
	p, err := cleanPath(sArg(in, "file_path"))
	if err != nil {
		return errOut("%v", err)
	}
	data, err := t.env.Files.ReadFile(ctx, p)
	if err != nil {
		return errOut("cannot read %s: %v", p, err)
	}
	off, lim := iArg(in, "offset", 1), iArg(in, "limit", 0)
	if lim <= 0 {
		if len(data) > readMaxBytes {
			return errOut("%s is %d bytes, over the %d-byte limit for whole-file reads: pass offset and limit (e.g. offset 1, limit 500)", p, len(data), readMaxBytes)
		}
		lim = readDefLines
	}
	if off < 1 {
		off = 1
	}
	t.markRead(p, data)
	lines := strings.SplitAfter(string(data), "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	var b strings.Builder
	end := min(len(lines), off-1+lim)
	for i := off - 1; i < end; i++ {
		l := strings.TrimRight(lines[i], "\n")
		if len(l) > readMaxLineLen {
			l = l[:readMaxLineLen] + "… [line cut]"
		}
		fmt.Fprintf(&b, "%6d\t%s\n", i+1, l)
	}
	if len(lines) == 0 {
		b.WriteString("(empty file)\n")
	} else if end < len(lines) {
		fmt.Fprintf(&b, "… %d more lines (use offset %d)\n", len(lines)-end, end+1)
	}
	return toolOutput{Text: b.String(), Path: p}
}

var skipDirs = []string{"node_modules", ".git", "__pycache__", ".venv"}

func walk(ctx context.Context, f Files, dir string, fn func(p string, isDir bool, size int64) error) error {
	n := 0
	err := f.Walk(ctx, dir, func(p string, isDir bool, size int64) error {
		n++
		if n > walkMaxEntries {
			return errLimit
		}
		if isDir && slices.Contains(skipDirs, path.Base(p)) {
			return fs.SkipDir
		}
		return fn(p, isDir, size)
	})
	if errors.Is(err, errLimit) {
		return nil
	}
	return err
}

var errLimit = errors.New("limit")

func dirArg(in map[string]any) string {
	d := sArg(in, "path")
	if d == "" || d == "." || d == "/" {
		return "."
	}
	c, err := cleanPath(d)
	if err != nil {
		return "."
	}
	return c
}

func toolList(ctx context.Context, t *toolCtx, in map[string]any) toolOutput {
	var out []string
	err := walk(ctx, t.env.Files, dirArg(in), func(p string, isDir bool, size int64) error {
		if p == "." || p == "" {
			return nil
		}
		if len(out) >= 500 {
			return errLimit
		}
		if isDir {
			out = append(out, p+"/")
		} else {
			out = append(out, fmt.Sprintf("%s (%d bytes)", p, size))
		}
		return nil
	})
	if err != nil && !errors.Is(err, errLimit) {
		return errOut("list: %v", err)
	}
	if len(out) == 0 {
		return toolOutput{Text: "(empty)"}
	}
	return toolOutput{Text: strings.Join(out, "\n")}
}

// globRE turns a glob (** any depth, * within a segment, ? one char) into a regexp.
func globRE(pat string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(pat); i++ {
		c := pat[i]
		switch {
		case c == '*' && i+1 < len(pat) && pat[i+1] == '*':
			i++
			if i+1 < len(pat) && pat[i+1] == '/' {
				i++
				b.WriteString("(?:.*/)?")
			} else {
				b.WriteString(".*")
			}
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

func toolGlob(ctx context.Context, t *toolCtx, in map[string]any) toolOutput {
	pat := sArg(in, "pattern")
	if pat == "" || strings.HasPrefix(pat, "/") || strings.Contains(pat, "..") {
		return errOut("pattern must be a relative glob without ..")
	}
	re, err := globRE(pat)
	if err != nil {
		return errOut("bad pattern: %v", err)
	}
	dir := dirArg(in)
	var out []string
	more := 0
	err = walk(ctx, t.env.Files, dir, func(p string, isDir bool, _ int64) error {
		if isDir {
			return nil
		}
		rel := p
		if dir != "." {
			rel = strings.TrimPrefix(p, dir+"/")
		}
		if re.MatchString(rel) || (!strings.Contains(pat, "/") && re.MatchString(path.Base(p))) {
			if len(out) < globMax {
				out = append(out, p)
			} else {
				more++
			}
		}
		return nil
	})
	if err != nil {
		return errOut("glob: %v", err)
	}
	if len(out) == 0 {
		return toolOutput{Text: "no matches"}
	}
	sort.Strings(out)
	s := strings.Join(out, "\n")
	if more > 0 {
		s += fmt.Sprintf("\n… %d more (narrow the pattern)", more)
	}
	return toolOutput{Text: s}
}

func toolGrep(ctx context.Context, t *toolCtx, in map[string]any) toolOutput {
	pat := sArg(in, "pattern")
	if bArg(in, "case_insensitive") {
		pat = "(?i)" + pat
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return errOut("bad regular expression: %v", err)
	}
	var fileRE *regexp.Regexp
	if g := sArg(in, "glob"); g != "" {
		if fileRE, err = globRE(g); err != nil {
			return errOut("bad glob: %v", err)
		}
	}
	var b strings.Builder
	truncated := false
	err = walk(ctx, t.env.Files, dirArg(in), func(p string, isDir bool, size int64) error {
		if isDir || size > grepMaxFileSize {
			return nil
		}
		if fileRE != nil && !fileRE.MatchString(p) && !fileRE.MatchString(path.Base(p)) {
			return nil
		}
		data, err := t.env.Files.ReadFile(ctx, p)
		if err != nil || bytes.IndexByte(data[:min(len(data), 8000)], 0) >= 0 {
			return nil
		}
		for i, line := range strings.Split(string(data), "\n") {
			if re.MatchString(line) {
				if len(line) > 300 {
					line = line[:300] + "…"
				}
				fmt.Fprintf(&b, "%s:%d: %s\n", p, i+1, line)
				if b.Len() > grepMaxBytes {
					truncated = true
					return errLimit
				}
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, errLimit) {
		return errOut("grep: %v", err)
	}
	if b.Len() == 0 {
		return toolOutput{Text: "no matches"}
	}
	if truncated {
		b.WriteString("[output truncated at 100 KiB: narrow the pattern or path]\n")
	}
	return toolOutput{Text: b.String()}
}

// checkFresh enforces read-before-overwrite: an existing file must have been
// read (or written) by the agent and not changed since.
func (t *toolCtx) checkFresh(ctx context.Context, p string) ([]byte, bool, error) {
	old, err := t.env.Files.ReadFile(ctx, p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, false, nil
		}
		return nil, false, err
	}
	h, ok := t.readHash(p)
	if !ok {
		return old, true, fmt.Errorf("%s exists and has not been read in this conversation: read it first", p)
	}
	if h != hashOf(old) {
		return old, true, fmt.Errorf("%s changed since you last read it: read it again", p)
	}
	return old, true, nil
}

func toolWrite(ctx context.Context, t *toolCtx, in map[string]any) toolOutput {
	p, err := cleanPath(sArg(in, "file_path"))
	if err != nil {
		return errOut("%v", err)
	}
	content, ok := in["content"].(string)
	if !ok {
		return errOut("content is required (a string)")
	}
	old, existed, err := t.checkFresh(ctx, p)
	if err != nil {
		return errOut("%v", err)
	}
	if err := t.env.Files.WriteFile(ctx, p, []byte(content)); err != nil {
		return errOut("cannot write %s: %v", p, err)
	}
	t.markRead(p, []byte(content))
	diff, add, rem := lineDiff(string(old), content)
	verb := "created"
	if existed {
		verb = "wrote"
	}
	return toolOutput{Text: fmt.Sprintf("%s %s (%d bytes, +%d -%d lines)", verb, p, len(content), add, rem), Path: p, Diff: diff, Added: add, Removed: rem}
}

func toolEdit(ctx context.Context, t *toolCtx, in map[string]any) toolOutput {
	p, err := cleanPath(sArg(in, "file_path"))
	if err != nil {
		return errOut("%v", err)
	}
	oldS, newS := sArg(in, "old_string"), sArg(in, "new_string")
	if oldS == "" {
		return errOut("old_string is required (to create a file use write)")
	}
	if oldS == newS {
		return errOut("old_string and new_string are the same: nothing to change")
	}
	data, existed, err := t.checkFresh(ctx, p)
	if !existed && err == nil {
		return errOut("%s does not exist (create it with write)", p)
	}
	if err != nil {
		return errOut("%v", err)
	}
	s := string(data)
	n := strings.Count(s, oldS)
	switch {
	case n == 0:
		return errOut("old_string not found in %s%s", p, nearMatch(s, oldS))
	case n > 1 && !bArg(in, "replace_all"):
		return errOut("old_string appears %d times in %s (at lines %s); it must be unique: include more surrounding lines, or set replace_all", n, p, matchLines(s, oldS))
	}
	out := strings.ReplaceAll(s, oldS, newS)
	if err := t.env.Files.WriteFile(ctx, p, []byte(out)); err != nil {
		return errOut("cannot write %s: %v", p, err)
	}
	t.markRead(p, []byte(out))
	diff, add, rem := lineDiff(s, out)
	// the edited region, numbered, ±4 lines
	at := strings.Index(out, newS)
	first := strings.Count(out[:at], "\n") + 1
	lines := strings.Split(out, "\n")
	lo, hi := max(1, first-4), min(len(lines), first+strings.Count(newS, "\n")+4)
	var b strings.Builder
	fmt.Fprintf(&b, "edited %s: %d replacement(s), +%d -%d lines\n", p, n, add, rem)
	for i := lo; i <= hi; i++ {
		fmt.Fprintf(&b, "%6d\t%s\n", i, lines[i-1])
	}
	return toolOutput{Text: b.String(), Path: p, Diff: diff, Added: add, Removed: rem}
}

func matchLines(s, sub string) string {
	var ls []string
	off := 0
	for {
		i := strings.Index(s[off:], sub)
		if i < 0 || len(ls) >= 10 {
			break
		}
		ls = append(ls, strconv.Itoa(strings.Count(s[:off+i], "\n")+1))
		off += i + max(1, len(sub))
	}
	return strings.Join(ls, ", ")
}

// nearMatch points at the line that best matches old_string's first line.
func nearMatch(s, old string) string {
	first := strings.TrimSpace(strings.SplitN(old, "\n", 2)[0])
	if first == "" {
		return ""
	}
	for i, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) == first {
			return fmt.Sprintf("; its first line matches line %d (%q) once whitespace is ignored: check indentation and the following lines", i+1, strings.TrimSpace(l))
		}
	}
	for i, l := range strings.Split(s, "\n") {
		if len(first) > 8 && strings.Contains(strings.ToLower(l), strings.ToLower(first[:len(first)/2])) {
			return fmt.Sprintf("; closest line is %d: %q. Read the file again and copy the text exactly", i+1, l)
		}
	}
	return "; read the file again and copy the text exactly"
}

// lineDiff trims the common head and tail and reports the changed middle.
func lineDiff(a, b string) (string, int, int) {
	if a == b {
		return "", 0, 0
	}
	split := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	}
	al, bl := split(a), split(b)
	i := 0
	for i < len(al) && i < len(bl) && al[i] == bl[i] {
		i++
	}
	j := 0
	for j < len(al)-i && j < len(bl)-i && al[len(al)-1-j] == bl[len(bl)-1-j] {
		j++
	}
	rem, add := al[i:len(al)-j], bl[i:len(bl)-j]
	var d strings.Builder
	fmt.Fprintf(&d, "@@ -%d,%d +%d,%d @@\n", i+1, len(rem), i+1, len(add))
	const maxLines = 400
	for k, l := range rem {
		if k >= maxLines {
			fmt.Fprintf(&d, "… %d more removed\n", len(rem)-k)
			break
		}
		d.WriteString("-" + l + "\n")
	}
	for k, l := range add {
		if k >= maxLines {
			fmt.Fprintf(&d, "… %d more added\n", len(add)-k)
			break
		}
		d.WriteString("+" + l + "\n")
	}
	return d.String(), len(add), len(rem)
}

// headTail keeps the start and the end of long output.
func headTail(s string, head, tail int) string {
	if len(s) <= head+tail {
		return s
	}
	cut := strings.Count(s[head:len(s)-tail], "\n")
	return s[:head] + fmt.Sprintf("\n[… %d bytes, %d lines cut …]\n", len(s)-head-tail, cut) + s[len(s)-tail:]
}

var ansiRE = regexp.MustCompile("\x1b\\[[0-9;?]*[A-Za-z]")

func toolBash(ctx context.Context, t *toolCtx, in map[string]any) toolOutput {
	cmd := sArg(in, "command")
	if strings.TrimSpace(cmd) == "" {
		return errOut("command is required")
	}
	first := strings.Fields(cmd)[0]
	if slices.Contains([]string{"vim", "vi", "nano", "less", "more", "top", "emacs"}, first) {
		return errOut("%s is interactive and cannot run here; use read/edit instead", first)
	}
	to := time.Duration(iArg(in, "timeout_ms", int(bashDefTimeout/time.Millisecond))) * time.Millisecond
	to = min(max(to, time.Second), bashMaxTimeout)
	res, err := t.env.Shell.Exec(ctx, cmd, to)
	if err != nil {
		return errOut("bash: %v", err)
	}
	out := headTail(ansiRE.ReplaceAllString(res.Output, ""), outHead, outTail)
	switch {
	case res.TimedOut:
		return toolOutput{Text: out + fmt.Sprintf("\n[timed out after %s; the command was killed]", to), IsError: true}
	case res.ExitCode != 0:
		return toolOutput{Text: out + fmt.Sprintf("\nexit code: %d", res.ExitCode), IsError: true}
	}
	if out == "" {
		out = "(no output)"
	}
	return toolOutput{Text: out}
}

func toolRunApp(ctx context.Context, t *toolCtx, in map[string]any) toolOutput {
	a := sArg(in, "action")
	if a != "start" && a != "stop" && a != "restart" {
		return errOut("action must be start, stop or restart")
	}
	st, err := t.env.App.Control(ctx, a)
	if err != nil {
		return errOut("run_app %s: %v", a, err)
	}
	state := "stopped"
	if st.Running {
		state = "running at " + st.URL
	}
	return toolOutput{Text: strings.TrimSpace(fmt.Sprintf("app %s. %s", state, st.Message))}
}

func toolAppLogs(ctx context.Context, t *toolCtx, in map[string]any) toolOutput {
	s, err := t.env.App.Logs(ctx, min(max(iArg(in, "tail", 200), 1), 2000))
	if err != nil {
		return errOut("app_logs: %v", err)
	}
	if s == "" {
		s = "(no output)"
	}
	return toolOutput{Text: headTail(ansiRE.ReplaceAllString(s, ""), outHead, outTail)}
}

func toolPreview(ctx context.Context, t *toolCtx, in map[string]any) toolOutput {
	p := sArg(in, "path")
	if p == "" {
		p = "/"
	}
	r, err := t.env.App.Preview(ctx, p)
	if err != nil {
		return errOut("preview %s: %v (is the app running? use run_app)", p, err)
	}
	body := r.Body
	if len(body) > 2000 {
		body = body[:2000] + "\n[… body cut]"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s → %d %s\n%s", p, r.Status, r.ContentType, body)
	if len(r.Console) > 0 {
		b.WriteString("\n\nBrowser console:\n")
		for i, l := range r.Console {
			if i == previewMaxConsole {
				fmt.Fprintf(&b, "[… %d more lines]\n", len(r.Console)-i)
				break
			}
			if len(l) > 500 {
				l = l[:500] + "…"
			}
			b.WriteString(l + "\n")
		}
	} else if len(r.Screenshot) > 0 {
		b.WriteString("\n\nBrowser console: no errors or warnings")
	}
	out := toolOutput{IsError: r.Status >= 500}
	if len(r.Screenshot) > 0 {
		if w, h, ok := pngSize(r.Screenshot); ok {
			fmt.Fprintf(&b, "\nscreenshot taken: %dx%d", w, h)
		} else {
			b.WriteString("\nscreenshot taken")
		}
		out.Images = []Image{{MediaType: "image/png", Data: base64.StdEncoding.EncodeToString(r.Screenshot)}}
	}
	out.Text = strings.TrimRight(b.String(), "\n")
	return out
}

const previewMaxConsole = 20

// pngSize reads the width and height from a PNG's IHDR chunk.
func pngSize(b []byte) (w, h int, ok bool) {
	if len(b) < 24 || string(b[:8]) != "\x89PNG\r\n\x1a\n" || string(b[12:16]) != "IHDR" {
		return 0, 0, false
	}
	return int(binary.BigEndian.Uint32(b[16:20])), int(binary.BigEndian.Uint32(b[20:24])), true
}

func toolInstall(ctx context.Context, t *toolCtx, in map[string]any) toolOutput {
	var pkgs []string
	if a, ok := in["packages"].([]any); ok {
		for _, v := range a {
			if s, ok := v.(string); ok && s != "" {
				pkgs = append(pkgs, s)
			}
		}
	}
	if len(pkgs) == 0 {
		return errOut("packages is required (a list of names)")
	}
	out, err := t.env.Packages.Install(ctx, sArg(in, "manager"), pkgs)
	if err != nil {
		return errOut("install failed: %v\n%s", err, headTail(out, outHead, outTail))
	}
	return toolOutput{Text: headTail(out, outHead, outTail)}
}

var readSQL = regexp.MustCompile(`(?is)^\s*(select|explain|with|pragma|show|describe|values)\b`)

func toolSQL(ctx context.Context, t *toolCtx, in map[string]any) toolOutput {
	q := sArg(in, "query")
	if strings.TrimSpace(q) == "" {
		return errOut("query is required")
	}
	w := bArg(in, "allow_write")
	if !w && !readSQL.MatchString(q) {
		return errOut("this statement changes the database: set allow_write to true")
	}
	out, err := t.env.DB.Query(ctx, q, w)
	if err != nil {
		return errOut("sql: %v", err)
	}
	return toolOutput{Text: headTail(out, outHead, outTail)}
}

var secretNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

func toolSecrets(ctx context.Context, t *toolCtx, in map[string]any) toolOutput {
	names, err := t.env.Secrets.SecretNames(ctx)
	if err != nil {
		return errOut("secrets: %v", err)
	}
	if req := sArg(in, "request"); req != "" {
		if !secretNameRE.MatchString(req) {
			return errOut("request: %q is not a valid name (letters, digits, _; not starting with a digit)", req)
		}
		if slices.Contains(names, req) {
			return toolOutput{Text: req + " is already set: it is in the environment as $" + req}
		}
		reason := sArg(in, "reason")
		return toolOutput{Text: "The agent needs the secret " + req + ": " + reason, Ask: true, SecretRequest: &SecretRequest{Name: req, Reason: reason}}
	}
	if len(names) == 0 {
		return toolOutput{Text: "no secrets set (ask the user to add one in the Secrets panel if needed)"}
	}
	return toolOutput{Text: "secrets available as environment variables (values hidden): " + strings.Join(names, ", ")}
}

func toolTodo(_ context.Context, t *toolCtx, in map[string]any) toolOutput {
	arr, ok := in["todos"].([]any)
	if !ok {
		return errOut("todos is required (a list)")
	}
	var todos []Todo
	inProg := 0
	for _, v := range arr {
		m, _ := v.(map[string]any)
		td := Todo{Content: sArg(m, "content"), Status: sArg(m, "status")}
		if td.Content == "" || !slices.Contains([]string{"pending", "in_progress", "completed"}, td.Status) {
			return errOut("each todo needs content and status pending|in_progress|completed")
		}
		if td.Status == "in_progress" {
			inProg++
		}
		todos = append(todos, td)
	}
	if inProg > 1 {
		return errOut("at most one todo may be in_progress")
	}
	t.sess.Todos = todos
	done := 0
	for _, td := range todos {
		if td.Status == "completed" {
			done++
		}
	}
	return toolOutput{Text: fmt.Sprintf("todo list updated: %d items, %d completed", len(todos), done)}
}

func toolAsk(_ context.Context, _ *toolCtx, in map[string]any) toolOutput {
	q := sArg(in, "question")
	if q == "" {
		return errOut("question is required")
	}
	return toolOutput{Text: q, Ask: true}
}
