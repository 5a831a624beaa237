package checkpoint

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// Entry types in a tree.
const (
	TypeFile    = "f"
	TypeDir     = "d"
	TypeSymlink = "l"
)

// Entry is one name in a directory of a manifest. Files point at a content
// blob, directories at another tree; symbolic links keep their target
// (never followed).
type Entry struct {
	Name   string `json:"n"`
	Type   string `json:"t"`
	Mode   uint32 `json:"m"`           // permission bits (0o7777)
	Size   int64  `json:"s,omitempty"` // files only
	Hash   Hash   `json:"h,omitempty"` // file content or subtree
	Target string `json:"l,omitempty"` // symlinks only
}

// tree is the stored form of a directory. A manifest is the tree of the
// project root; subdirectories are trees of their own, so an unchanged
// directory is stored once however many checkpoints contain it.
type tree struct {
	Version int     `json:"ecode_tree"`
	Entries []Entry `json:"entries"`
}

func encodeTree(es []Entry) []byte {
	slices.SortFunc(es, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
	b, _ := json.Marshal(tree{Version: 1, Entries: es})
	return b
}

func decodeTree(b []byte) ([]Entry, error) {
	var t tree
	if err := json.Unmarshal(b, &t); err != nil || t.Version != 1 {
		return nil, fmt.Errorf("not a tree object (%v)", err)
	}
	return t.Entries, nil
}

func hashBytes(b []byte) Hash {
	s := sha256.Sum256(b)
	return Hash(hex.EncodeToString(s[:]))
}

// Ignore decides which paths checkpoints leave out (and restores leave in
// place). Patterns without a slash match a file or directory name at any
// depth; patterns with a slash match a path from the project root.
type Ignore struct {
	names    map[string]bool
	paths    map[string]bool
	prefixes []string // of names ("name*" patterns)
}

// DefaultIgnore lists what checkpoints leave out by default: dependency
// folders, caches and build caches that are reinstalled or rebuilt from the
// lockfiles, which are checkpointed. Besides these, any directory holding a
// pyvenv.cfg (a Python virtual environment, whatever its name) is left out.
//
// Kept on purpose: dist/ and build/ (a static site's dist may be its source
// and they are usually small), target/, and .git/ (a user's history is
// their data; restoring code without it would be confusing).
var DefaultIgnore = []string{
	"node_modules", ".venv", "__pycache__", ".cache", ".pytest_cache", ".mypy_cache",
	".ruff_cache", ".tox", ".next", ".nuxt", ".svelte-kit", ".parcel-cache", ".turbo",
	".gradle", ".pnpm-store", ".npm", ".pythonlibs", ".yarn/cache", ".ecode/install.sum",
	".ecode-tmp-*", // the server's temporary files of writes in progress (or interrupted)
}

// NewIgnore builds an Ignore from patterns (DefaultIgnore when nil): a
// name, a path (with a slash) or a name prefix ("name*").
func NewIgnore(patterns []string) *Ignore {
	if patterns == nil {
		patterns = DefaultIgnore
	}
	ig := &Ignore{names: map[string]bool{}, paths: map[string]bool{}}
	for _, p := range patterns {
		if pre, ok := strings.CutSuffix(p, "*"); ok && !strings.Contains(p, "/") {
			ig.prefixes = append(ig.prefixes, pre)
		} else if strings.Contains(p, "/") {
			ig.paths[strings.Trim(p, "/")] = true
		} else {
			ig.names[p] = true
		}
	}
	return ig
}

// Match reports whether the project-relative path rel is ignored.
func (ig *Ignore) Match(rel string) bool {
	base := path.Base(rel)
	if ig.names[base] || ig.paths[rel] {
		return true
	}
	for _, pre := range ig.prefixes {
		if strings.HasPrefix(base, pre) {
			return true
		}
	}
	return false
}

// DependencyFiles are the file names whose change means dependencies must be
// reinstalled; Restore reports which of them changed.
var DependencyFiles = []string{
	"package.json", "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml",
	"bun.lock", "bun.lockb", "requirements.txt", "pyproject.toml", "poetry.lock", "Pipfile",
	"Pipfile.lock", "uv.lock", "go.mod", "go.sum", "Cargo.toml", "Cargo.lock", "Gemfile",
	"Gemfile.lock", "composer.json", "composer.lock", ".replit", "replit.nix",
}

// indexEntry is what the stat cache remembers of a file: if the file still
// has the same size, mtime, ctime and inode, its content hash is reused.
type indexEntry struct {
	Size    int64
	Mtime   int64
	Ctime   int64
	Ino     uint64
	Dev     uint64
	Mode    uint32
	Hash    Hash
	Written bool // content is known to be in the object store
	Restat  bool // (restores) the stat is to be taken again when the restore finishes
}

// writeFileAtomic replaces p with b through a temporary file and a rename;
// with durable, the content and the rename are synced.
func writeFileAtomic(p string, b []byte, durable bool) error {
	tmp := p + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if durable {
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		return err
	}
	hook("write " + filepath.Base(p))
	if !durable {
		return nil
	}
	return syncDir(filepath.Dir(p))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// statKey extracts the stat-cache fields of fi.
func statKey(fi fs.FileInfo) indexEntry {
	e := indexEntry{Size: fi.Size(), Mtime: fi.ModTime().UnixNano(), Mode: uint32(fi.Mode().Perm() | fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky))}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		e.Ctime = st.Ctim.Sec*1e9 + st.Ctim.Nsec
		e.Ino = st.Ino
		e.Dev = st.Dev
	}
	return e
}

func sameStat(a, b indexEntry) bool {
	return a.Size == b.Size && a.Mtime == b.Mtime && a.Ctime == b.Ctime && a.Ino == b.Ino && a.Dev == b.Dev
}

func permBits(m fs.FileMode) uint32 {
	v := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		v |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		v |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		v |= 0o1000
	}
	return v
}

func fileMode(v uint32) fs.FileMode {
	m := fs.FileMode(v & 0o777)
	if v&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if v&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if v&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}

// loader reads trees from memory (a scan) or the object store.
type loader struct {
	ctx     context.Context
	objects ObjectStore
	mem     map[Hash][]byte
}

const maxTreeBytes = 64 << 20

func (l *loader) tree(h Hash) ([]Entry, error) {
	if b, ok := l.mem[h]; ok {
		return decodeTree(b)
	}
	b, err := getBytes(l.ctx, l.objects, h, maxTreeBytes)
	if err != nil {
		return nil, err
	}
	if hashBytes(b) != h {
		return nil, fmt.Errorf("tree %s is corrupt", h)
	}
	return decodeTree(b)
}

// flatten lists every entry below the tree h, keyed by project-relative path.
func (l *loader) flatten(h Hash, prefix string, out map[string]Entry) error {
	es, err := l.tree(h)
	if err != nil {
		return err
	}
	for _, e := range es {
		if !validName(e.Name) {
			return fmt.Errorf("tree %s: bad name %q", h, e.Name)
		}
		rel := path.Join(prefix, e.Name)
		out[rel] = e
		if e.Type == TypeDir {
			if err := l.flatten(e.Hash, rel, out); err != nil {
				return err
			}
		}
	}
	return nil
}

func validName(n string) bool {
	return n != "" && n != "." && n != ".." && !strings.ContainsAny(n, "/\x00")
}
