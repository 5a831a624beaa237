package deploy

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"ecode/internal/store"
)

// Release data snapshots (SQLite production databases): each publish copies
// the production database, as it is at that moment, into the release's
// folder (<release>/data.db, outside what its sandboxes see). Activating a
// release leaves the production data alone unless asked to restore that
// snapshot, which replaces the production database in one transaction.

// ErrNoSnapshot means the release has no data snapshot (the production
// database did not exist yet when it was published, or project databases
// are PostgreSQL ones).
var ErrNoSnapshot = errors.New("deploy: this release has no data snapshot")

func (s *Service) snapshotPath(projectID, releaseID string) string {
	return filepath.Join(s.releaseDir(projectID, releaseID), "data.db")
}

// prodFile is the SQLite production database ("" without one).
func (s *Service) prodFile(projectID string) string {
	dir := s.dataDir(projectID)
	if dir == "" || s.d.CopySQLite == nil {
		return ""
	}
	return filepath.Join(dir, "data.db")
}

// snapshotData copies the production database into the release's folder
// (nothing when there is none yet).
func (s *Service) snapshotData(ctx context.Context, projectID, releaseID string) error {
	src := s.prodFile(projectID)
	if src == "" {
		return nil
	}
	if _, err := os.Stat(src); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := os.MkdirAll(s.releaseDir(projectID, releaseID), 0o711); err != nil {
		return err
	}
	return s.d.CopySQLite(ctx, src, s.snapshotPath(projectID, releaseID))
}

// hasSnapshot reports whether the release has a data snapshot.
func (s *Service) hasSnapshot(r store.Release) bool {
	if s.prodFile(r.ProjectID) == "" {
		return false
	}
	_, err := os.Stat(s.snapshotPath(r.ProjectID, r.ID))
	return err == nil
}

// restoreData replaces the production database with the release's snapshot.
func (s *Service) restoreData(ctx context.Context, rel store.Release) error {
	if !s.hasSnapshot(rel) {
		return ErrNoSnapshot
	}
	return s.d.CopySQLite(ctx, s.snapshotPath(rel.ProjectID, rel.ID), s.prodFile(rel.ProjectID))
}
