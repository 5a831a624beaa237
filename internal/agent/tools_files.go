// The agent's tools that read and change the project's files.

package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

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
