package checkpoint

import (
	"bytes"
	"context"
	"ecode/internal/linediff"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Status says how a file or table differs.
type Status string

// The statuses.
const (
	Added    Status = "added"
	Removed  Status = "removed"
	Modified Status = "modified"
)

// FileDiff is one changed path. Patch is a unified diff of a text file
// (empty for binary files, big files, or when the diff's byte budget ran out:
// then Truncated is set).
type FileDiff struct {
	Path         string `json:"path"`
	Status       Status `json:"status"`
	OldType      string `json:"old_type,omitempty"`
	NewType      string `json:"new_type,omitempty"`
	OldMode      uint32 `json:"old_mode,omitempty"`
	NewMode      uint32 `json:"new_mode,omitempty"`
	OldHash      Hash   `json:"old_hash,omitempty"`
	NewHash      Hash   `json:"new_hash,omitempty"`
	Binary       bool   `json:"binary,omitempty"`
	LinesAdded   int    `json:"lines_added"`
	LinesRemoved int    `json:"lines_removed"`
	Patch        string `json:"patch,omitempty"`
	Truncated    bool   `json:"truncated,omitempty"`
}

// TableDiff is a database table whose row count changed.
type TableDiff struct {
	Table   string `json:"table"`
	Status  Status `json:"status"`
	OldRows int64  `json:"old_rows"`
	NewRows int64  `json:"new_rows"`
}

// Diff is the difference between two states, files sorted by path.
type Diff struct {
	Files  []FileDiff  `json:"files"`
	Tables []TableDiff `json:"tables,omitempty"`
}

// DiffOptions bound a diff.
type DiffOptions struct {
	NoText       bool  // file list only: no line counts, no patches
	MaxFileBytes int64 // larger files get no line diff (default 1 MiB)
	MaxBytes     int   // budget for all patches together (default 1 MiB; -1: count lines, no patches)
	Context      int   // context lines (default 3)
	Ignore       []string
}

// Source is one side of a diff: a checkpoint, or the current files of a
// project directory (and, optionally, its live database).
type Source struct {
	Checkpoint *Checkpoint
	Dir        string
	DB         ProjectDB
}

// Diff compares from and to. An empty Source is the empty project.
func (r *Repo) Diff(ctx context.Context, from, to Source, opt DiffOptions) (Diff, error) {
	l := &loader{ctx: ctx, objects: r.objects, mem: map[Hash][]byte{}}
	disk := map[Hash]string{}
	side := func(s Source) (Hash, map[string]int64, error) {
		switch {
		case s.Checkpoint != nil:
			return s.Checkpoint.Manifest, s.Checkpoint.Metrics.DBTables, nil
		case s.Dir != "":
			sc, h, err := scanDir(ctx, s.Dir, nil, NewIgnore(opt.Ignore), loadIndex(filepath.Join(stateDir(s.Dir), indexName)), nil)
			if err != nil {
				return "", nil, err
			}
			for k, v := range sc.trees {
				l.mem[k] = v
			}
			for _, f := range sc.files { // stat-cache hits are on disk too
				if _, ok := disk[f.entry.Hash]; !ok && f.entry.Hash != "" {
					disk[f.entry.Hash] = filepath.Join(s.Dir, filepath.FromSlash(f.rel))
				}
			}
			var tables map[string]int64
			if s.DB != nil {
				t, err := s.DB.Tables(ctx)
				if err != nil && ctx.Err() != nil {
					return "", nil, err
				}
				tables = t // a database that cannot be read (corrupt) shows no tables: the files still diff
			}
			return h, tables, nil
		}
		return "", nil, nil
	}
	a, ta, err := side(from)
	if err != nil {
		return Diff{}, fmt.Errorf("diff: %w", err)
	}
	b, tb, err := side(to)
	if err != nil {
		return Diff{}, fmt.Errorf("diff: %w", err)
	}
	d, err := diffTrees(l, a, b, &opt, r.objects, disk)
	if err != nil {
		return Diff{}, fmt.Errorf("diff: %w", err)
	}
	d.Tables = diffTables(ta, tb)
	return d, nil
}

func diffTables(a, b map[string]int64) []TableDiff {
	var out []TableDiff
	for t, n := range a {
		m, ok := b[t]
		switch {
		case !ok:
			out = append(out, TableDiff{Table: t, Status: Removed, OldRows: n})
		case m != n:
			out = append(out, TableDiff{Table: t, Status: Modified, OldRows: n, NewRows: m})
		}
	}
	for t, m := range b {
		if _, ok := a[t]; !ok {
			out = append(out, TableDiff{Table: t, Status: Added, NewRows: m})
		}
	}
	slices.SortFunc(out, func(x, y TableDiff) int { return strings.Compare(x.Table, y.Table) })
	return out
}

type differ struct {
	l       *loader
	opt     *DiffOptions
	objects ObjectStore
	disk    map[Hash]string
	budget  int
	out     []FileDiff
}

// diffTrees compares two manifests ("" is empty), reading only the
// subtrees whose hashes differ.
func diffTrees(l *loader, a, b Hash, opt *DiffOptions, objects ObjectStore, disk map[Hash]string) (Diff, error) {
	if opt.MaxFileBytes == 0 {
		opt.MaxFileBytes = 1 << 20
	}
	if opt.MaxBytes == 0 {
		opt.MaxBytes = 1 << 20
	}
	if opt.Context == 0 {
		opt.Context = 3
	}
	d := &differ{l: l, opt: opt, objects: objects, disk: disk, budget: opt.MaxBytes}
	if err := d.trees(a, b, ""); err != nil {
		return Diff{}, err
	}
	slices.SortFunc(d.out, func(x, y FileDiff) int { return strings.Compare(x.Path, y.Path) })
	return Diff{Files: d.out}, nil
}

func (d *differ) entries(h Hash) ([]Entry, error) {
	if h == "" {
		return nil, nil
	}
	return d.l.tree(h)
}

func (d *differ) trees(a, b Hash, prefix string) error {
	if a == b {
		return nil
	}
	ea, err := d.entries(a)
	if err != nil {
		return err
	}
	eb, err := d.entries(b)
	if err != nil {
		return err
	}
	ma := map[string]Entry{}
	for _, e := range ea {
		ma[e.Name] = e
	}
	mb := map[string]Entry{}
	for _, e := range eb {
		mb[e.Name] = e
	}
	names := map[string]bool{}
	for n := range ma {
		names[n] = true
	}
	for n := range mb {
		names[n] = true
	}
	for n := range names {
		if !validName(n) {
			return fmt.Errorf("bad name %q in tree", n)
		}
		x, inA := ma[n]
		y, inB := mb[n]
		rel := path.Join(prefix, n)
		switch {
		case inA && inB && x.Type == TypeDir && y.Type == TypeDir:
			if err := d.trees(x.Hash, y.Hash, rel); err != nil {
				return err
			}
		case inA && inB && x.Type == y.Type:
			if x.Hash != y.Hash || x.Mode != y.Mode || x.Target != y.Target {
				if err := d.file(rel, &x, &y); err != nil {
					return err
				}
			}
		default:
			if inA {
				if err := d.side(rel, &x, true); err != nil {
					return err
				}
			}
			if inB {
				if err := d.side(rel, &y, false); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// side reports e (a file, link or whole directory) as removed or added.
func (d *differ) side(rel string, e *Entry, removed bool) error {
	if e.Type == TypeDir {
		es, err := d.entries(e.Hash)
		if err != nil {
			return err
		}
		for i := range es {
			if err := d.side(path.Join(rel, es[i].Name), &es[i], removed); err != nil {
				return err
			}
		}
		return nil
	}
	if removed {
		return d.file(rel, e, nil)
	}
	return d.file(rel, nil, e)
}

func (d *differ) content(e *Entry) ([]byte, bool, error) {
	if e == nil {
		return nil, true, nil
	}
	if e.Type == TypeSymlink {
		return []byte(e.Target + "\n"), true, nil
	}
	if e.Size > d.opt.MaxFileBytes {
		return nil, false, nil
	}
	var b []byte
	var err error
	if p, ok := d.disk[e.Hash]; ok {
		b, err = os.ReadFile(p)
		if err == nil && hashBytes(b) != e.Hash {
			b, err = nil, fmt.Errorf("%s changed during the diff", p)
		}
	} else {
		b, err = getBytes(d.l.ctx, d.objects, e.Hash, d.opt.MaxFileBytes)
	}
	if err != nil {
		return nil, false, err
	}
	return b, !bytes.Contains(b[:min(len(b), 8000)], []byte{0}), nil
}

func (d *differ) file(rel string, a, b *Entry) error {
	fd := FileDiff{Path: rel, Status: Modified}
	if a != nil {
		fd.OldType, fd.OldMode, fd.OldHash = a.Type, a.Mode, a.Hash
	} else {
		fd.Status = Added
	}
	if b != nil {
		fd.NewType, fd.NewMode, fd.NewHash = b.Type, b.Mode, b.Hash
	} else {
		fd.Status = Removed
	}
	if !d.opt.NoText && (a == nil || b == nil || a.Hash != b.Hash || a.Target != b.Target) {
		ca, ta, err := d.content(a)
		if err != nil {
			return err
		}
		cb, tb, err := d.content(b)
		if err != nil {
			return err
		}
		if !ta || !tb {
			fd.Binary = true
		} else {
			la, lb := splitLines(ca), splitLines(cb)
			ops := diffLines(la, lb)
			for _, op := range ops {
				switch op {
				case '+':
					fd.LinesAdded++
				case '-':
					fd.LinesRemoved++
				}
			}
			if d.opt.MaxBytes > 0 {
				oldName, newName := "a/"+rel, "b/"+rel
				if a == nil {
					oldName = "/dev/null"
				}
				if b == nil {
					newName = "/dev/null"
				}
				p := unified(oldName, newName, la, lb, ops, d.opt.Context)
				if len(p) <= d.budget {
					fd.Patch = p
					d.budget -= len(p)
				} else {
					fd.Truncated = true
				}
			}
		}
	}
	d.out = append(d.out, fd)
	return nil
}

const noEOL = "\x00noeol"

// splitLines splits text into lines; a last line without a newline carries
// a marker so that adding the newline counts as a change.
func splitLines(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	s := string(b)
	ls := strings.SplitAfter(s, "\n")
	if ls[len(ls)-1] == "" {
		ls = ls[:len(ls)-1]
	} else {
		ls[len(ls)-1] += "\n" + noEOL
	}
	return ls
}

// maxEdit bounds the Myers search; beyond it a file diffs as replaced whole.
const maxEdit = 2000

// diffLines returns an edit script turning a into b: '=' keep, '-' delete
// from a, '+' insert from b (package linediff's values).
func diffLines(a, b []string) []byte {
	// Common prefix and suffix cost nothing.
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	ma, mb := a[pre:len(a)-suf], b[pre:len(b)-suf]
	mid, ok := linediff.Diff(ma, mb, maxEdit)
	if !ok {
		mid = linediff.Replace(len(ma), len(mb))
	}
	ops := make([]byte, 0, pre+len(mid)+suf)
	ops = append(ops, bytes.Repeat([]byte{'='}, pre)...)
	for _, op := range mid {
		ops = append(ops, byte(op))
	}
	return append(ops, bytes.Repeat([]byte{'='}, suf)...)
}

// unified renders ops as a unified diff with ctx lines of context.
func unified(oldName, newName string, a, b []string, ops []byte, ctx int) string {
	var w strings.Builder
	fmt.Fprintf(&w, "--- %s\n+++ %s\n", oldName, newName)
	// Positions in a and b before each op.
	ai := make([]int, len(ops)+1)
	bi := make([]int, len(ops)+1)
	for i, op := range ops {
		ai[i+1], bi[i+1] = ai[i], bi[i]
		if op != '+' {
			ai[i+1]++
		}
		if op != '-' {
			bi[i+1]++
		}
	}
	i := 0
	for i < len(ops) {
		if ops[i] == '=' {
			i++
			continue
		}
		// A hunk: from ctx before this change to ctx after the last change
		// closer than 2*ctx to the previous one.
		start := max(0, i-ctx)
		end := i
		for j := i; j < len(ops); j++ {
			if ops[j] != '=' {
				end = j + 1
			} else if j-end >= 2*ctx {
				break
			}
		}
		end = min(len(ops), end+ctx)
		na, nb := ai[end]-ai[start], bi[end]-bi[start]
		sa, sb := ai[start]+1, bi[start]+1
		if na == 0 {
			sa--
		}
		if nb == 0 {
			sb--
		}
		fmt.Fprintf(&w, "@@ -%s +%s @@\n", hunkRange(sa, na), hunkRange(sb, nb))
		for j := start; j < end; j++ {
			var line string
			switch ops[j] {
			case '=':
				line = " " + b[bi[j]]
			case '-':
				line = "-" + a[ai[j]]
			case '+':
				line = "+" + b[bi[j]]
			}
			if strings.HasSuffix(line, noEOL) {
				line = strings.TrimSuffix(line, noEOL) + "\\ No newline at end of file\n"
			}
			w.WriteString(line)
		}
		i = end
	}
	return w.String()
}

func hunkRange(s, n int) string {
	if n == 1 {
		return fmt.Sprint(s)
	}
	return fmt.Sprintf("%d,%d", s, n)
}

var _ = io.EOF
