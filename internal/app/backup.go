package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"ecode/internal/api"
	"ecode/internal/backup"
	"ecode/internal/checkpoint"
	"ecode/internal/config"
	"ecode/internal/jobs"
	"ecode/internal/projectdb"
	"ecode/internal/secrets"
	"ecode/internal/store"
	"ecode/internal/workspace"
)

const backupUsage = `usage: ecode backup --out FILE [--include-key [--passphrase-file F]] [server flags]
  Writes one archive of the whole service while it runs: the database, every
  project's files and database, the checkpoint objects and, with
  --include-key, the master key sealed under a passphrase (from
  --passphrase-file or ECODE_BACKUP_PASSPHRASE; at least 12 characters).
  Give the same server flags (or ECODE_* variables) as ecode serve.`

const restoreUsage = `usage: ecode restore ARCHIVE [--force] [--passphrase-file F] [server flags]
  Verifies every checksum of ARCHIVE, then restores it into the data
  directory and database the server flags name: both must be empty
  (--force moves an old data directory's contents aside; a PostgreSQL
  database must always be fresh). Without the master key in the archive,
  put the old one in place first (master.key, --master-key or
  --master-key-command).`

// cliFlags takes the command's own flags out of args: valued names take the
// next argument (or name=value), the others are switches; the rest are
// server flags for config.Load.
func cliFlags(args []string, valued, switches []string) (map[string]string, []string) {
	own := map[string]string{}
	var rest []string
	is := func(a string, names []string) (string, bool) {
		n := strings.TrimLeft(a, "-")
		for _, name := range names {
			if n == name && strings.HasPrefix(a, "-") {
				return name, true
			}
		}
		return "", false
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if k, v, ok := strings.Cut(a, "="); ok {
			if name, ok := is(k, valued); ok {
				own[name] = v
				continue
			}
		}
		if name, ok := is(a, valued); ok && i+1 < len(args) {
			own[name] = args[i+1]
			i++
			continue
		}
		if name, ok := is(a, switches); ok {
			own[name] = "true"
			continue
		}
		rest = append(rest, a)
	}
	return own, rest
}

// passphrase reads the backup passphrase from a file or ECODE_BACKUP_PASSPHRASE.
func passphrase(file string, getenv func(string) string) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("passphrase file: %w", err)
		}
		return []byte(strings.TrimRight(string(b), "\r\n")), nil
	}
	if p := getenv("ECODE_BACKUP_PASSPHRASE"); p != "" {
		return []byte(p), nil
	}
	return nil, errors.New("the master key is sealed with a passphrase: give --passphrase-file or ECODE_BACKUP_PASSPHRASE")
}

// backupParts are the pieces a backup reads and a restore writes, opened
// on their own (the CLI runs beside the server, which it must not disturb).
type backupParts struct {
	files   *workspace.Files
	dbs     *projectdb.Manager
	objects checkpoint.ObjectStore
}

func openBackupParts(ctx context.Context, cfg *config.Config, st *store.Store) (*backupParts, error) {
	files, err := workspace.New(filepath.Join(cfg.DataDir, "projects"), nil)
	if err != nil {
		return nil, err
	}
	dbs, err := newProjectDBs(ctx, cfg, st, files, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	objects, err := newObjectStore(ctx, cfg)
	if err != nil {
		dbs.Close()
		return nil, err
	}
	return &backupParts{files: files, dbs: dbs, objects: objects}, nil
}

// backupDirs are the data directory's folders a backup copies whole: the
// deployments' releases (built apps and their logs).
func backupDirs(cfg *config.Config) map[string]string {
	return map[string]string{"deployments": filepath.Join(cfg.DataDir, "deployments")}
}

// backupSource is what a backup of this service reads.
func backupSource(cfg *config.Config, st *store.Store, files *workspace.Files, dbs *projectdb.Manager, objects checkpoint.ObjectStore, keyID string) backup.Source {
	src := backup.Source{Store: st, ProjectDir: files.Dir, ProjectPostgres: dbs.Postgres(), Objects: objects, Dirs: backupDirs(cfg),
		KeyID: keyID, Version: Version, ProjectDB: func(id string) backup.ProjectDB { return dbs.DB(id) }}
	if !dbs.Postgres() {
		src.SkipFiles = projectdb.Files
	} else {
		src.ProductionDB = func(ctx context.Context, id string) (backup.ProjectDB, error) {
			ok, err := dbs.ProductionExists(ctx, id)
			if err != nil || !ok {
				return nil, err
			}
			return dbs.ProductionDB(id), nil
		}
	}
	return src
}

// backupCommand is `ecode backup`.
func backupCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	own, rest := cliFlags(args, []string{"out", "passphrase-file"}, []string{"include-key", "h", "help"})
	if own["out"] == "" || own["h"] != "" || own["help"] != "" {
		return errors.New(backupUsage)
	}
	cfg, err := config.Load("ecode backup", rest, getenv)
	if err != nil {
		return err
	}
	st, err := openCurrent(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	parts, err := openBackupParts(ctx, cfg, st)
	if err != nil {
		return err
	}
	defer parts.dbs.Close()
	keys, err := keySource(cfg).Keys()
	if err != nil {
		return fmt.Errorf("master key: %w", err)
	}
	src := backupSource(cfg, st, parts.files, parts.dbs, parts.objects, secrets.KeyID(keys[0]))
	if own["include-key"] != "" {
		if src.Passphrase, err = passphrase(own["passphrase-file"], getenv); err != nil {
			return err
		}
		src.Keys = keys
	}
	m, size, err := writeArchive(ctx, own["out"], src)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup %s: %d bytes, %d projects, %d objects, database %s (schema %d), master key %s\n",
		own["out"], size, len(m.Projects), m.Objects, m.Engine, m.SchemaVersion, map[bool]string{true: "included (sealed)", false: "not included"}[m.KeyIncluded])
	for _, w := range m.Warnings {
		fmt.Fprintln(stdout, "warning:", w)
	}
	return nil
}

// writeArchive writes a backup to out under a temporary name, renamed when whole.
func writeArchive(ctx context.Context, out string, src backup.Source) (*backup.Manifest, int64, error) {
	tmp := out + ".partial"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, 0, err
	}
	defer os.Remove(tmp)
	defer f.Close()
	src.TempDir = filepath.Dir(out)
	m, err := backup.Create(ctx, f, src)
	if err != nil {
		return nil, 0, err
	}
	if err := f.Sync(); err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	if err := os.Rename(tmp, out); err != nil {
		return nil, 0, err
	}
	return m, fi.Size(), nil
}

// backupJob is the scheduled backup (--backup-every), with retention.
type backupJob struct{}

func (backupJob) Kind() string { return "backup" }

// runBackup makes a scheduled backup into --backup-dir and keeps the
// newest --backup-keep. Scheduled backups never hold the master key.
func (s *Server) runBackup(ctx context.Context) (backup.Info, error) {
	keys, err := keySource(s.Config).Keys()
	if err != nil {
		return backup.Info{}, err
	}
	src := backupSource(s.Config, s.Store, s.Files, s.DBs, s.Repo.Objects(), secrets.KeyID(keys[0]))
	info, err := backup.WriteFile(ctx, s.Config.BackupFolder(), src)
	if err != nil {
		return info, err
	}
	removed, err := backup.Prune(s.Config.BackupFolder(), int(s.Config.BackupKeep))
	s.Log.Info("backup written", "name", info.Name, "bytes", info.Size, "pruned", len(removed))
	return info, err
}

// handleBackups registers the backup job, scheduled every --backup-every
// (the handler stays registered when off, for jobs already queued).
func (s *Server) handleBackups() {
	jobs.Handle(s.Jobs, func(ctx context.Context, _ backupJob, _ int) error {
		_, err := s.runBackup(ctx)
		if err != nil {
			s.Log.Error("scheduled backup", "err", err)
		}
		return err
	})
	if s.Config.BackupEvery > 0 {
		s.Jobs.Every("backup", s.Config.BackupEvery, backupJob{}, false)
	}
}

// Backups lists the scheduled backups for admins.
func (s *Server) Backups(context.Context) (api.BackupList, error) {
	list, err := backup.List(s.Config.BackupFolder())
	return api.BackupList{Dir: s.Config.BackupFolder(), Every: s.Config.BackupEvery.String(), Keep: int(s.Config.BackupKeep), Backups: list}, err
}
