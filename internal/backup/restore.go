package backup

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"ecode/internal/checkpoint"
)

// Archive is a verified archive on disk.
type Archive struct {
	Path string
	M    *Manifest
}

// Open verifies the whole archive at path (see Verify).
func Open(path string) (*Archive, error) {
	m, err := Verify(path)
	if err != nil {
		return nil, err
	}
	return &Archive{Path: path, M: m}, nil
}

// entry gives fn the content of the entry name.
func (a *Archive) entry(name string, fn func(io.Reader) error) error {
	found := false
	err := walk(a.Path, a.M, func(h *tar.Header, r io.Reader) error {
		if h.Name != name {
			return nil
		}
		found = true
		return fn(r)
	})
	if err == nil && !found {
		err = fmt.Errorf("the archive has no %s", name)
	}
	return err
}

// Keys opens the archive's master keys (current first) with the passphrase.
func (a *Archive) Keys(pass []byte) ([][]byte, error) {
	if !a.M.KeyIncluded {
		return nil, fmt.Errorf("the archive does not hold the master key")
	}
	var keys [][]byte
	err := a.entry(keyName, func(r io.Reader) error {
		b, err := io.ReadAll(io.LimitReader(r, 1<<16))
		if err != nil {
			return err
		}
		keys, err = openKeys(b, pass)
		return err
	})
	return keys, err
}

// Target is where RestoreProjects writes.
type Target struct {
	ProjectDir func(projectID string) string
	ProjectDB  func(projectID string) ProjectDB
	// ProductionDB is a project's production database on the project
	// database server (an archive's projectdb/<id>.prod.pgdump); nil when
	// project databases are SQLite ones.
	ProductionDB func(projectID string) ProjectDB
	// ProjectDBFile is the SQLite project database's path inside the
	// files, given the owner of the files when Chown.
	ProjectDBFile string
	Objects       checkpoint.ObjectStore
	// Projects are the restored database's projects: files of others
	// (made after the database was copied) are skipped.
	Projects map[string]bool
	// Chown gives files their owners from the archive (running as root).
	Chown bool
	// Dirs are where the archive's extra folders (Source.Dirs) go, by name.
	Dirs map[string]string
	// Prepare, when set, is called before a project's files are written
	// (it mounts the project's volume).
	Prepare func(projectID string) error
}

type restorer struct {
	t     Target
	roots map[string]*os.Root
	owner map[string][2]int
}

// RestoreProjects writes the projects' files and databases and the
// checkpoint objects. Each entry is checked against the manifest again as
// it is read; on error the caller removes what was written.
func (a *Archive) RestoreProjects(ctx context.Context, t Target) error {
	rs := &restorer{t: t, roots: map[string]*os.Root{}, owner: map[string][2]int{}}
	defer func() {
		for _, r := range rs.roots {
			r.Close()
		}
	}()
	return walk(a.Path, a.M, func(h *tar.Header, r io.Reader) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		parts := strings.SplitN(h.Name, "/", 4)
		switch {
		case parts[0] == "projects" && len(parts) >= 3 && parts[2] == "files":
			if !t.Projects[parts[1]] {
				return nil
			}
			p := "."
			if len(parts) == 4 {
				p = parts[3]
			}
			return rs.file("projects/"+parts[1], p, h, r, func() (string, error) {
				if t.Prepare != nil {
					if err := t.Prepare(parts[1]); err != nil {
						return "", err
					}
				}
				return t.ProjectDir(parts[1]), nil
			})
		case parts[0] == "dirs" && len(parts) >= 2 && t.Dirs[parts[1]] != "":
			p := "."
			if len(parts) >= 3 {
				p = strings.Join(parts[2:], "/")
			}
			return rs.file("dirs/"+parts[1], p, h, r, func() (string, error) { return t.Dirs[parts[1]], nil })
		case parts[0] == "projectdb" && len(parts) == 2 && strings.HasSuffix(parts[1], ".prod.pgdump"):
			id := strings.TrimSuffix(parts[1], ".prod.pgdump")
			if !t.Projects[id] || t.ProductionDB == nil {
				return nil
			}
			return rs.production(ctx, id, r)
		case parts[0] == "projectdb" && len(parts) == 2:
			id := strings.TrimSuffix(strings.TrimSuffix(parts[1], ".db"), ".pgdump")
			if !t.Projects[id] {
				return nil
			}
			return rs.database(ctx, id, r)
		case parts[0] == "objects" && len(parts) == 2:
			got, err := t.Objects.Put(ctx, r)
			if err != nil {
				return fmt.Errorf("object %s: %w", parts[1], err)
			}
			if string(got) != parts[1] {
				return corrupt("object %s has the content of %s", parts[1], got)
			}
		}
		return nil
	})
}

// file writes one entry of a copied folder (a project's files: key
// "projects/<id>") inside an os.Root of the folder dir gives: no name in
// the archive can reach outside it.
func (rs *restorer) file(id, p string, h *tar.Header, r io.Reader, dir func() (string, error)) error {
	if p != "." && (!filepath.IsLocal(p) || filepath.Clean(p) != p) {
		return corrupt("entry %s leaves its project", h.Name)
	}
	if p == "." {
		if h.Typeflag != tar.TypeDir {
			return corrupt("entry %s is not a folder", h.Name)
		}
		dir, err := dir()
		if err != nil {
			return err
		}
		if err := os.MkdirAll(dir, os.FileMode(h.Mode).Perm()|0o700); err != nil {
			return err
		}
		root, err := os.OpenRoot(dir)
		if err != nil {
			return err
		}
		rs.roots[id], rs.owner[id] = root, [2]int{h.Uid, h.Gid}
		return rs.finish(root, ".", h)
	}
	root := rs.roots[id]
	if root == nil {
		return corrupt("entry %s comes before its project's folder", h.Name)
	}
	switch h.Typeflag {
	case tar.TypeDir:
		if err := root.Mkdir(p, 0o700); err != nil && !os.IsExist(err) {
			return err
		}
	case tar.TypeSymlink:
		root.Remove(p)
		if err := root.Symlink(h.Linkname, p); err != nil {
			return err
		}
	default:
		root.Remove(p) // a symbolic link there (with --force) is replaced, not followed
		f, err := root.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY|syscall.O_NOFOLLOW, 0o600)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, r); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return rs.finish(root, p, h)
}

// finish gives an entry its mode, owner and (files) modification time.
func (rs *restorer) finish(root *os.Root, p string, h *tar.Header) error {
	if rs.t.Chown {
		if err := root.Lchown(p, h.Uid, h.Gid); err != nil {
			return err
		}
	}
	if h.Typeflag == tar.TypeSymlink {
		return nil
	}
	if err := root.Chmod(p, os.FileMode(h.Mode).Perm()); err != nil {
		return err
	}
	if h.Typeflag == tar.TypeReg {
		return root.Chtimes(p, h.ModTime, h.ModTime)
	}
	return nil
}

// production restores a project's production database (made first if missing).
func (rs *restorer) production(ctx context.Context, id string, r io.Reader) error {
	db := rs.t.ProductionDB(id)
	if err := db.Create(ctx); err != nil {
		return fmt.Errorf("project %s production database: %w", id, err)
	}
	if err := db.Restore(ctx, r); err != nil {
		return fmt.Errorf("project %s production database: %w", id, err)
	}
	return nil
}

// database restores a project's database (made first if missing).
func (rs *restorer) database(ctx context.Context, id string, r io.Reader) error {
	db := rs.t.ProjectDB(id)
	if err := db.Create(ctx); err != nil {
		return fmt.Errorf("project %s database: %w", id, err)
	}
	if err := db.Restore(ctx, r); err != nil {
		return fmt.Errorf("project %s database: %w", id, err)
	}
	if root, own := rs.roots["projects/"+id], rs.owner["projects/"+id]; rs.t.Chown && root != nil && rs.t.ProjectDBFile != "" {
		if _, err := root.Lstat(rs.t.ProjectDBFile); err == nil {
			return root.Lchown(rs.t.ProjectDBFile, own[0], own[1])
		}
	}
	return nil
}
