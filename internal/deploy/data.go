package deploy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
)

// The production database: a folder per deployment, <Dir>/<project>/data,
// seen by every instance and scheduled run at /workspace/.ecode (so the
// project's DATABASE_URL, .ecode/data.db, is the production file there).
// It is made at the first publish, empty or as a copy of the development
// database; later releases and rollbacks never touch it.

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
func (s *Service) HasData(projectID string) bool {
	dir := s.dataDir(projectID)
	if dir == "" {
		return false
	}
	_, err := os.Stat(dir)
	return err == nil
}

// HasDatabases reports whether deployments get a production database of
// their own (so the first publish offers the choice).
func (s *Service) HasDatabases() bool { return s.d.CopyDevDB != nil }
