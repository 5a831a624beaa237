package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"ecode/internal/backup"
	"ecode/internal/checkpoint"
	"ecode/internal/config"
	"ecode/internal/projectdb"
	"ecode/internal/secretbox"
	"ecode/internal/secrets"
)

// restoreCommand is `ecode restore ARCHIVE`.
func restoreCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return errors.New(restoreUsage) // also -h
	}
	path := args[0]
	own, rest := cliFlags(args[1:], []string{"passphrase-file"}, []string{"force"})
	cfg, err := config.Load("ecode restore", rest, getenv)
	if err != nil {
		return err
	}
	return restoreService(ctx, cfg, path, restoreOptions{Force: own["force"] != "", PassphraseFile: own["passphrase-file"], Getenv: getenv, Out: stdout})
}

// restoreOptions adjust restoreService.
type restoreOptions struct {
	Force          bool // move an old data directory's contents aside
	PassphraseFile string
	Getenv         func(string) string
	Out            io.Writer // progress (default: nowhere)
}

// restoreService brings the service back from the archive at path into the data
// directory and database cfg names. It verifies the whole archive before
// it writes anything, and on failure removes what it wrote.
func restoreService(ctx context.Context, cfg *config.Config, path string, o restoreOptions) (err error) {
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Getenv == nil {
		o.Getenv = func(string) string { return "" }
	}
	a, err := backup.Open(path)
	if err != nil {
		return fmt.Errorf("refusing %s: %w", path, err)
	}
	fmt.Fprintf(o.Out, "verified %s: %d entries, made %s by ecode %s\n", path, len(a.M.Entries), a.M.Created.Format(time.RFC3339), a.M.Version)
	keys, err := restoreKeys(cfg, a, o)
	if err != nil {
		return err
	}
	if (a.M.ProjectDBs == "postgres") != (cfg.ProjectDBURL != "") {
		return fmt.Errorf("the archive's project databases are %s: restore with %s", a.M.ProjectDBs,
			map[bool]string{true: "--project-db-url", false: "no --project-db-url"}[a.M.ProjectDBs == "postgres"])
	}
	if (a.M.Engine == "postgres") != cfg.Postgres() {
		return fmt.Errorf("the archive holds a %s database: restore it with a %s --database-url", a.M.Engine, a.M.Engine)
	}
	u := &undo{}
	defer func() {
		if err != nil {
			if uerr := u.run(); uerr != nil {
				err = fmt.Errorf("%w (and undoing the partial restore: %v)", err, uerr)
			}
		}
	}()
	if err := prepareTarget(ctx, cfg, o.Force, u); err != nil {
		return err
	}
	if err := checkProjectDBs(ctx, cfg, a.M.Projects, o.Force, u); err != nil {
		return err
	}
	if err := writeKeys(cfg, keys, u); err != nil {
		return err
	}
	if err := restoreDatabase(ctx, cfg, a, u); err != nil {
		return fmt.Errorf("restore the database: %w", err)
	}
	st, err := openMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	ids, err := st.AllProjectIDs(ctx)
	if err != nil {
		return err
	}
	parts, err := openBackupParts(ctx, cfg, st)
	if err != nil {
		return err
	}
	defer parts.dbs.Close()
	var prepare func(string) error
	if vols := newVolumes(cfg, slog.New(slog.DiscardHandler)); vols != nil {
		// Files go into each project's volume, mounted as the server will
		// (and unmounted before an undo removes what was written).
		defer vols.Close()
		prepare = func(id string) error {
			if err := os.MkdirAll(parts.files.Area(id), 0o750); err != nil {
				return err
			}
			return vols.Attach(parts.files.Area(id), id)
		}
	}
	t := backup.Target{Prepare: prepare, Dirs: backupDirs(cfg), ProjectDir: parts.files.Dir, ProjectDB: func(id string) backup.ProjectDB { return parts.dbs.DB(id) },
		Objects: parts.objects, Projects: map[string]bool{}, Chown: os.Geteuid() == 0, ProjectDBFile: projectdb.Path}
	if parts.dbs.Postgres() {
		t.ProductionDB = func(id string) backup.ProjectDB { return parts.dbs.ProductionDB(id) }
	}
	for _, id := range ids {
		t.Projects[id] = true
	}
	if err := a.RestoreProjects(ctx, t); err != nil {
		return fmt.Errorf("restore projects and objects: %w", err)
	}
	for _, id := range a.M.Gone { // deleted while the backup ran: the server finishes their deletion
		if t.Projects[id] {
			if err := st.MarkProjectDeleting(ctx, id, time.Now()); err != nil {
				return err
			}
		}
	}
	return checkObjects(ctx, st, parts.objects, o.Out, len(ids))
}

// restoreKeys opens the archive's master key, or checks that the
// configured one is the archive's.
func restoreKeys(cfg *config.Config, a *backup.Archive, o restoreOptions) ([][]byte, error) {
	src := keySource(cfg)
	external := src.Env != "" || src.Command != ""
	if a.M.KeyIncluded && !external {
		pass, err := passphrase(o.PassphraseFile, o.Getenv)
		if err != nil {
			return nil, err
		}
		return a.Keys(pass)
	}
	if !external {
		if _, err := os.Stat(src.File); err != nil {
			return nil, fmt.Errorf("the archive does not hold the master key (key id %s): put the old master key at %s, or give --master-key or --master-key-command, then restore again", a.M.KeyID, src.File)
		}
	}
	keys, err := src.Keys()
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	if a.M.KeyID != "" && !slices.ContainsFunc(keys, func(k []byte) bool { return secrets.KeyID(k) == a.M.KeyID }) {
		return nil, fmt.Errorf("the configured master key (id %s) is not the archive's (id %s): its secrets could not be read", secrets.KeyID(keys[0]), a.M.KeyID)
	}
	return nil, nil
}

// undo removes what a failed restore wrote, last first.
type undo struct{ steps []func() error }

func (u *undo) add(fn func() error) { u.steps = append(u.steps, fn) }

func (u *undo) run() error {
	var errs []error
	for i := len(u.steps) - 1; i >= 0; i-- {
		errs = append(errs, u.steps[i]())
	}
	return errors.Join(errs...)
}

// keyFiles are the master key file and its rotation companions.
func keyFiles(cfg *config.Config) []string {
	f := cfg.KeyFile()
	return []string{f, f + ".old", f + ".new"}
}

// prepareTarget refuses a data directory or database that is not empty;
// with force, an old data directory's contents are moved aside (into
// replaced-<time>) instead. A PostgreSQL database must be empty.
func prepareTarget(ctx context.Context, cfg *config.Config, force bool, u *undo) error {
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return err
	}
	des, err := os.ReadDir(cfg.DataDir)
	if err != nil {
		return err
	}
	var old []string
	for _, de := range des {
		p := filepath.Join(cfg.DataDir, de.Name())
		if slices.Contains(keyFiles(cfg), p) || p == cfg.BackupFolder() || strings.HasPrefix(de.Name(), "replaced-") {
			continue // the operator's key and backups may be waiting there
		}
		old = append(old, de.Name())
	}
	if !cfg.Postgres() {
		if _, err := os.Stat(cfg.SQLitePath()); err == nil && filepath.Dir(cfg.SQLitePath()) != filepath.Clean(cfg.DataDir) {
			return fmt.Errorf("the database %s exists: move it away first", cfg.SQLitePath())
		}
	}
	if len(old) > 0 && !force {
		return fmt.Errorf("the data directory %s is not empty (%s): restore into an empty one, or give --force to move its contents aside", cfg.DataDir, strings.Join(old, ", "))
	}
	if cfg.Postgres() {
		st, err := openStore(ctx, cfg)
		if err != nil {
			return err
		}
		n, err := st.TableCount(ctx)
		st.Close()
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("the database has %d tables: restore into a fresh, empty database (CREATE DATABASE ...)", n)
		}
	}
	if len(old) > 0 {
		aside := filepath.Join(cfg.DataDir, "replaced-"+time.Now().UTC().Format("20060102T150405Z"))
		if err := os.Mkdir(aside, 0o700); err != nil {
			return err
		}
		u.add(func() error { return os.Remove(aside) })
		for _, name := range old {
			if err := os.Rename(filepath.Join(cfg.DataDir, name), filepath.Join(aside, name)); err != nil {
				return err
			}
			u.add(func() error { return os.Rename(filepath.Join(aside, name), filepath.Join(cfg.DataDir, name)) })
		}
	}
	// Undone first: everything the restore adds to the data directory.
	keep := map[string]bool{}
	if des, err = os.ReadDir(cfg.DataDir); err != nil {
		return err
	}
	for _, de := range des {
		keep[de.Name()] = true
	}
	u.add(func() error {
		des, err := os.ReadDir(cfg.DataDir)
		if err != nil {
			return err
		}
		var errs []error
		for _, de := range des {
			if !keep[de.Name()] {
				errs = append(errs, os.RemoveAll(filepath.Join(cfg.DataDir, de.Name())))
			}
		}
		return errors.Join(errs...)
	})
	return nil
}

// checkProjectDBs refuses PostgreSQL project databases that already exist
// on --project-db-url (a live server's, maybe) unless force; those the
// restore creates are dropped if it fails.
func checkProjectDBs(ctx context.Context, cfg *config.Config, ids []string, force bool, u *undo) error {
	if cfg.ProjectDBURL == "" || len(ids) == 0 {
		return nil
	}
	db, err := sql.Open("pgx", cfg.ProjectDBURL)
	if err != nil {
		return err
	}
	defer db.Close()
	names := map[string]bool{}
	var exist []string
	pg := &projectdb.PostgresServer{AdminURL: cfg.ProjectDBURL}
	for _, id := range ids {
		name := pg.Project(id).Name
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil {
			return fmt.Errorf("project-db-url: %w", err)
		}
		if n > 0 {
			exist = append(exist, name)
		} else {
			names[id] = true
		}
	}
	if len(exist) > 0 && !force {
		return fmt.Errorf("%d project databases already exist on --project-db-url (%s): restore onto a PostgreSQL server without them, or give --force to replace them", len(exist), exist[0])
	}
	u.add(func() error {
		var errs []error
		for id := range names {
			errs = append(errs, pg.Project(id).Drop(context.Background()))
		}
		return errors.Join(errs...)
	})
	return nil
}

// writeKeys writes the archive's master keys: the current one to the key
// file, those of a rotation in progress beside it.
func writeKeys(cfg *config.Config, keys [][]byte, u *undo) error {
	files := keyFiles(cfg)
	for i, k := range keys {
		if i >= len(files) {
			break
		}
		if cur, err := os.ReadFile(files[i]); err == nil && len(cur) == secretbox.KeySize && string(cur) == string(k) {
			continue // already in place
		} else if err == nil {
			os.Rename(files[i], files[i]+".replaced")
		}
		if err := os.MkdirAll(filepath.Dir(files[i]), 0o700); err != nil {
			return err
		}
		f, err := os.OpenFile(files[i], os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		_, err = f.Write(k)
		err = errors.Join(err, f.Sync(), f.Close())
		name := files[i]
		u.add(func() error { os.Remove(name); os.Rename(name+".replaced", name); return nil })
		if err != nil {
			return err
		}
	}
	return nil
}

// restoreDatabase loads the server's database.
func restoreDatabase(ctx context.Context, cfg *config.Config, a *backup.Archive, u *undo) error {
	if !cfg.Postgres() {
		path := cfg.SQLitePath()
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return err
		}
		u.add(func() error {
			for _, s := range []string{"", "-wal", "-shm"} {
				os.Remove(path + s)
			}
			return nil
		})
		return a.RestoreSQLite(ctx, path)
	}
	if err := a.RestorePostgres(ctx, cfg.DatabaseURL, ""); err != nil {
		return err // one transaction: nothing to undo
	}
	u.add(func() error { return dropRestored(cfg.DatabaseURL, a.M.Schema) })
	return nil
}

// dropRestored empties a PostgreSQL database a failed restore filled (it
// was empty before: prepareTarget checked).
func dropRestored(dbURL, schema string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if schema == "" || schema == "public" {
		_, err = db.ExecContext(ctx, `DROP SCHEMA public CASCADE; CREATE SCHEMA public`)
		return err
	}
	_, err = db.ExecContext(ctx, `DROP SCHEMA `+pgx.Identifier{schema}.Sanitize()+` CASCADE`)
	return err
}

// checkObjects walks every restored checkpoint's objects and says whether
// any is missing (see "Backups" in docs/ARCHITECTURE.md).
func checkObjects(ctx context.Context, st interface {
	ListCheckpointRefs(context.Context, func(m, d, c string) error) error
}, objects checkpoint.ObjectStore, out io.Writer, projects int) error {
	rep, err := checkpoint.NewRepo(objects).Fsck(ctx, func(ctx context.Context, fn func(checkpoint.Refs) error) error {
		return st.ListCheckpointRefs(ctx, func(m, d, c string) error {
			return fn(checkpoint.Refs{Manifest: checkpoint.Hash(m), DB: checkpoint.Hash(d), Conversation: checkpoint.Hash(c)})
		})
	})
	if err != nil {
		return err
	}
	if !rep.OK() {
		fmt.Fprintf(out, "warning: %d checkpoint objects missing, %d corrupt: those checkpoints cannot be restored\n", len(rep.Missing), len(rep.Corrupt))
	}
	fmt.Fprintf(out, "restored %d projects; start the server with the same flags\n", projects)
	return nil
}
