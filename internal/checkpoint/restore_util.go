package checkpoint

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Small helpers of restores.

// syncFiles fsyncs files, several at once.
func syncFiles(paths []string) error {
	var wg sync.WaitGroup
	errs := make([]error, len(paths))
	sem := make(chan struct{}, 16)
	for i, p := range paths {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			f, err := os.Open(p)
			if err == nil {
				err = f.Sync()
				f.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func sortedKeys(m map[string]Entry) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	// By path components, so a directory's contents follow it directly.
	slices.SortFunc(out, pathCompare)
	return out
}

// ownerOK reports whether rel (in the project) may be reused as is: owned
// by the project's owner when we are root.
func ownerOK(projectDir string, own owner, rel string) bool {
	fi, err := os.Lstat(filepath.Join(projectDir, filepath.FromSlash(rel)))
	if err != nil {
		return false
	}
	st := fi.Sys().(*syscall.Stat_t)
	return !own.root || int(st.Uid) == own.uid && int(st.Gid) == own.gid
}

// pathCompare orders paths by components ("a", "a/b", "a-b"), so that a
// directory's contents follow it directly.
func pathCompare(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if x == '/' {
			return -1
		}
		if y == '/' {
			return 1
		}
		if x < y {
			return -1
		}
		return 1
	}
	return len(a) - len(b)
}

func writeJournal(sd string, j journal) error {
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(sd, journalName), b, true)
}

// writeFile writes the blob of e to dst, checking its hash.
func (r *Repo) writeFile(ctx context.Context, dst string, e Entry) error {
	rc, err := r.objects.Get(ctx, e.Hash)
	if err != nil {
		return err
	}
	defer rc.Close()
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	hw := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, hw), rc)
	if err == nil {
		err = f.Chmod(fileMode(e.Mode))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if got := Hash(hex.EncodeToString(hw.Sum(nil))); got != e.Hash {
		return fmt.Errorf("object %s is corrupt (content hashes to %s)", e.Hash, got)
	}
	return nil
}

func dependencyChanges(cur, want map[string]Entry) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range []map[string]Entry{cur, want} {
		for p := range m {
			if seen[p] || !slices.Contains(DependencyFiles, path.Base(p)) {
				continue
			}
			seen[p] = true
			a, b := cur[p], want[p]
			if a.Hash != b.Hash || a.Type != b.Type {
				out = append(out, p)
			}
		}
	}
	slices.Sort(out)
	return out
}

type owner struct {
	root     bool
	uid, gid int
}

func (o owner) chown(p string) error {
	if !o.root {
		return nil
	}
	return os.Lchown(p, o.uid, o.gid)
}

// lockDir takes an exclusive lock on a state directory (one create, restore
// or recover of a project at a time, across processes).
func lockDir(sd string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(sd, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}
