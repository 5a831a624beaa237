package deploy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// The production database. With SQLite project databases: a folder per
// deployment, <Dir>/<project>/data, seen by every instance and scheduled run
// at /workspace/.ecode (so the project's DATABASE_URL, .ecode/data.db, is the
// production file there). With PostgreSQL ones (Deps.ProdDB): a database and
// role of its own on the project database server, which production
// sandboxes are bound to and whose DATABASE_URL replaces the development
// one in their environment. Either is made at the first publish, empty or
// as a copy of the development database; later releases and rollbacks never
// touch it.

// How a first publish starts the production database.
const (
	DatabaseEmpty = "empty"
	DatabaseCopy  = "copy"
)

// ErrBadDatabase means an unknown database choice.
var ErrBadDatabase = errors.New("deploy: database must be empty or copy")

// dataDir is the project's production data folder ("" when deployments
// have no database of their own).
func (s *Service) dataDir(projectID string) string {
	if s.d.CopyDevDB == nil {
		return ""
	}
	return filepath.Join(s.opts.Dir, projectID, "data")
}

// ensureData makes the production data folder at the first publish, with
// a copy of the development database when choice is DatabaseCopy. An
// existing folder is left as it is.
func (s *Service) ensureData(ctx context.Context, projectID, choice string) error {
	if choice != "" && choice != DatabaseEmpty && choice != DatabaseCopy {
		return ErrBadDatabase
	}
	if s.d.ProdDB != nil {
		return s.d.ProdDB.CreateProduction(ctx, projectID, choice == DatabaseCopy)
	}
	dir := s.dataDir(projectID)
	if dir == "" {
		return nil
	}
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	tmp := dir + ".new"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return err
	}
	if choice == DatabaseCopy {
		if err := s.d.CopyDevDB(ctx, projectID, filepath.Join(tmp, "data.db")); err != nil {
			os.RemoveAll(tmp)
			return err
		}
	}
	return os.Rename(tmp, dir)
}

// HasData reports whether the project's production database exists.
func (s *Service) HasData(ctx context.Context, projectID string) bool {
	if s.d.ProdDB != nil {
		ok, err := s.d.ProdDB.ProductionExists(ctx, projectID)
		return err == nil && ok
	}
	dir := s.dataDir(projectID)
	if dir == "" {
		return false
	}
	_, err := os.Stat(dir)
	return err == nil
}

// HasDatabases reports whether deployments get a production database of
// their own (so the first publish offers the choice).
func (s *Service) HasDatabases() bool { return s.d.CopyDevDB != nil || s.d.ProdDB != nil }

// bindDB lets the production sandbox about to open as sandboxID reach the
// project's production database; unbind after it closed.
func (s *Service) bindDB(sandboxID, projectID string) (unbind func()) {
	if s.d.ProdDB == nil {
		return func() {}
	}
	return s.d.ProdDB.BindProduction(sandboxID, projectID)
}

// dbEnv is what production processes get on top of the project's
// environment: the production database's DATABASE_URL, which replaces the
// development one.
func (s *Service) dbEnv(projectID string, env []string) []string {
	if s.d.ProdDB == nil {
		return env
	}
	prod := s.d.ProdDB.ProductionEnv(projectID)
	names := map[string]bool{}
	for _, kv := range prod {
		name, _, _ := strings.Cut(kv, "=")
		names[name] = true
	}
	out := make([]string, 0, len(env)+len(prod))
	for _, kv := range env {
		if name, _, _ := strings.Cut(kv, "="); !names[name] {
			out = append(out, kv)
		}
	}
	return append(out, prod...)
}
