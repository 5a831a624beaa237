// Package backup writes and restores one archive of the whole service: the
// server's database (SQLite through VACUUM INTO, PostgreSQL through
// pg_dump), the master key when asked (sealed under a passphrase with
// argon2id and AES-256-GCM), every project's files and database, and the
// checkpoint objects. The archive is a gzip'd tar whose manifest lists the
// SHA-256 of every entry; Verify checks all of it before a restore writes
// anything. It runs beside a live server: the database first, then files
// and objects (see docs/ARCHITECTURE.md, "Backups", for why the result is
// consistent).
package backup

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"ecode/internal/checkpoint"
	"ecode/internal/store"
)

// FormatVersion is the archive format this build writes and reads.
const FormatVersion = 1

// Manifest describes an archive; its last entry.
type Manifest struct {
	Format  int       `json:"format"`
	Created time.Time `json:"created"`
	Version string    `json:"ecode_version"`
	// Engine is the server database's (sqlite or postgres); Schema, on
	// PostgreSQL, the schema of its search_path when one was set.
	Engine string `json:"engine"`
	Schema string `json:"schema,omitempty"`
	// SchemaVersion is the store's migration version in the archive.
	SchemaVersion int `json:"schema_version"`
	// ProjectDBs is where project databases lived: sqlite or postgres.
	ProjectDBs string `json:"project_dbs"`
	// KeyID names the master key the database's secrets are wrapped under
	// (secrets.KeyID); KeyIncluded says the archive holds it, sealed.
	KeyID       string `json:"key_id"`
	KeyIncluded bool   `json:"key_included"`
	// Projects are the projects in the database; Gone, those deleted
	// while the backup ran (no files): a restore finishes their deletion.
	Projects []string `json:"projects"`
	Gone     []string `json:"gone,omitempty"`
	// Warnings are what could not be copied (a project database that
	// could not be snapshotted); the rest of the archive is whole.
	Warnings []string `json:"warnings,omitempty"`
	Objects  int      `json:"objects"`
	Entries  []Entry  `json:"entries"`
}

// ProjectDB is a project's own database (projectdb.DB fits).
type ProjectDB interface {
	Create(ctx context.Context) error
	Snapshot(ctx context.Context, w io.Writer) error
	Restore(ctx context.Context, r io.Reader) error
}

// Source is what a backup reads.
type Source struct {
	Store *store.Store
	// ProjectDir is the folder of a project's files.
	ProjectDir func(projectID string) string
	// ProjectDB is a project's database; Postgres says it is on
	// PostgreSQL (otherwise a SQLite file inside the files, at SkipFiles).
	ProjectDB       func(projectID string) ProjectDB
	ProjectPostgres bool
	// ProductionDB, when set, is a project's production database on the
	// project database server (PostgreSQL), nil when it has none; taken as
	// projectdb/<id>.prod.pgdump. (A SQLite one is a file among the
	// deployments' folders, in Dirs.)
	ProductionDB func(ctx context.Context, projectID string) (ProjectDB, error)
	// SkipFiles are paths inside each project left out of its files (the
	// SQLite project database, taken through ProjectDB instead).
	SkipFiles []string
	Objects   checkpoint.ObjectStore
	// Dirs are more folders to copy whole, by name (deployments' releases).
	Dirs map[string]string
	// KeyID names the current master key; Keys, when set, are the master
	// keys to include (current first), sealed with Passphrase.
	KeyID      string
	Keys       [][]byte
	Passphrase []byte
	Version    string
	Now        func() time.Time
	// TempDir holds spooled entries and snapshots (default os.TempDir()).
	TempDir string
	PgDump  string // default "pg_dump"
}

type creator struct {
	src Source
	a   *archiveWriter
	m   *Manifest
	tmp string
}

// Create writes a backup of src to w: the database first, then the master
// key (when included), the projects' files and databases, and the objects.
func Create(ctx context.Context, w io.Writer, src Source) (*Manifest, error) {
	if src.Now == nil {
		src.Now = time.Now
	}
	tmp := src.TempDir
	if tmp == "" {
		tmp = os.TempDir()
	}
	m := &Manifest{Format: FormatVersion, Created: src.Now().UTC(), Version: src.Version, Engine: string(src.Store.Engine()),
		KeyID: src.KeyID, ProjectDBs: "sqlite"}
	if src.ProjectPostgres {
		m.ProjectDBs = "postgres"
	}
	c := &creator{src: src, a: newArchiveWriter(w, tmp), m: m, tmp: tmp}
	if err := c.snapshotDB(ctx); err != nil {
		return nil, fmt.Errorf("back up the database: %w", err)
	}
	var err error
	if m.SchemaVersion, _, err = src.Store.SchemaVersion(ctx); err != nil {
		return nil, err
	}
	// Listed after the snapshot: every project in it is here (a project
	// made since is extra, and a restore skips it).
	if m.Projects, err = src.Store.AllProjectIDs(ctx); err != nil {
		return nil, err
	}
	if len(src.Keys) > 0 {
		sealed, err := sealKeys(src.Keys, src.Passphrase)
		if err != nil {
			return nil, err
		}
		if err := c.a.add(&tar.Header{Name: keyName, Mode: 0o600, Size: int64(len(sealed)), ModTime: m.Created}, strings.NewReader(string(sealed))); err != nil {
			return nil, err
		}
		m.KeyIncluded = true
	}
	for _, id := range m.Projects {
		if err := c.project(ctx, id); err != nil {
			return nil, fmt.Errorf("back up project %s: %w", id, err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(src.Dirs)) {
		if _, err := c.tree(ctx, src.Dirs[name], "dirs/"+name, nil); err != nil {
			return nil, fmt.Errorf("back up %s: %w", src.Dirs[name], err)
		}
	}
	if err := c.objects(ctx); err != nil {
		return nil, fmt.Errorf("back up checkpoint objects: %w", err)
	}
	if err := c.a.finish(m); err != nil {
		return nil, err
	}
	return m, nil
}

// addPath adds the file at p as entry name.
func (c *creator) addPath(name, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	return c.a.add(&tar.Header{Name: name, Mode: 0o600, Size: fi.Size(), ModTime: fi.ModTime()}, f)
}

// projectPrefix is where a project's files are in the archive.
func projectPrefix(id string) string { return "projects/" + id + "/files" }

// project adds a project's files and then its database.
func (c *creator) project(ctx context.Context, id string) error {
	found, err := c.tree(ctx, c.src.ProjectDir(id), projectPrefix(id), c.src.SkipFiles)
	if err != nil || !found {
		if err == nil {
			c.m.Gone = append(c.m.Gone, id)
		}
		return err
	}
	if c.src.ProjectDB == nil {
		return nil
	}
	name := "projectdb/" + id + ".db"
	if c.src.ProjectPostgres {
		name = "projectdb/" + id + ".pgdump"
	} else if _, err := os.Stat(filepath.Join(c.src.ProjectDir(id), c.src.SkipFiles[0])); errors.Is(err, fs.ErrNotExist) {
		return nil // no database file (yet)
	}
	if err := c.database(ctx, id, name, "database", c.src.ProjectDB(id)); err != nil || c.src.ProductionDB == nil {
		return err
	}
	prod, err := c.src.ProductionDB(ctx, id)
	if err != nil {
		c.m.Warnings = append(c.m.Warnings, fmt.Sprintf("project %s: production database not copied: %v", id, err))
		return nil
	}
	if prod == nil {
		return nil
	}
	return c.database(ctx, id, "projectdb/"+id+".prod.pgdump", "production database", prod)
}

// database adds db's snapshot as entry name; one that cannot be read is a
// warning (what names it), not a failed backup.
func (c *creator) database(ctx context.Context, id, name, what string, db ProjectDB) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(db.Snapshot(ctx, pw)) }()
	err := c.a.addReader(&tar.Header{Name: name, Mode: 0o600, ModTime: c.m.Created}, pr)
	pr.CloseWithError(err)
	var se *sourceError
	if errors.As(err, &se) && ctx.Err() == nil {
		c.m.Warnings = append(c.m.Warnings, fmt.Sprintf("project %s: %s not copied: %v", id, what, err))
		return nil
	}
	return err
}

// tree adds the folder dir under prefix, read through an os.Root of it so
// nothing outside it is followed; skip names paths inside it to leave out.
// A missing folder adds nothing (found is false).
func (c *creator) tree(ctx context.Context, dir, prefix string, skipPaths []string) (found bool, err error) {
	root, err := os.OpenRoot(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer root.Close()
	skip := map[string]bool{}
	for _, s := range skipPaths {
		skip[s] = true
	}
	return true, fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while we walk: it was not there
			}
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if skip[p] || strings.HasPrefix(path.Base(p), ".ecode-tmp-") {
			return nil
		}
		return c.projectEntry(root, prefix, p, d)
	})
}

// projectEntry adds one file, folder or symbolic link of a project.
func (c *creator) projectEntry(root *os.Root, prefix, p string, d fs.DirEntry) error {
	name := prefix
	if p != "." {
		name += "/" + p
	}
	fi, err := root.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	hdr := &tar.Header{Name: name, Mode: int64(fi.Mode().Perm()), ModTime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
	}
	switch {
	case fi.IsDir():
		hdr.Typeflag = tar.TypeDir
		return c.a.add(hdr, nil)
	case fi.Mode()&fs.ModeSymlink != 0:
		if hdr.Linkname, err = root.Readlink(p); err != nil {
			return nil // gone since
		}
		hdr.Typeflag = tar.TypeSymlink
		return c.a.add(hdr, nil)
	case !fi.Mode().IsRegular():
		return nil // sockets, pipes: nothing to keep
	}
	f, err := root.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ELOOP) {
			return nil // removed or replaced since the walk saw it
		}
		return err
	}
	defer f.Close()
	// The file may change while it is read: spool what is read now.
	return c.a.addReader(hdr, f)
}

// objects adds every checkpoint object, decompressed, under its hash.
func (c *creator) objects(ctx context.Context) error {
	var hashes []checkpoint.Hash
	if err := c.src.Objects.List(ctx, func(o checkpoint.ObjectInfo) error {
		hashes = append(hashes, o.Hash)
		return nil
	}); err != nil {
		return err
	}
	for _, h := range hashes {
		r, err := c.src.Objects.Get(ctx, h)
		if errors.Is(err, checkpoint.ErrObjectNotFound) {
			continue // collected since: no checkpoint of the snapshot needs it
		}
		if err != nil {
			return err
		}
		err = c.a.addReader(&tar.Header{Name: "objects/" + string(h), Mode: 0o600, ModTime: c.m.Created}, r)
		r.Close()
		if err != nil {
			return fmt.Errorf("object %s: %w", h, err)
		}
		c.m.Objects++
	}
	return nil
}
