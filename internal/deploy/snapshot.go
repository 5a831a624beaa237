package deploy

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"ecode/internal/store"
)

// Release data snapshots: each publish copies the production database, as
// it is at that moment, into the release's folder, outside what its
// sandboxes see: <release>/data.db for a SQLite one, <release>/data.pgdump
// (pg_dump's compressed custom format) for a PostgreSQL one. Activating a
// release leaves the production data alone unless asked to restore that
// snapshot: a SQLite file is replaced in one transaction while the app
// runs; a PostgreSQL database is restored aside and swapped in with the
// app stopped (its instances drained first), then the release starts.

// ErrNoSnapshot means the release has no data snapshot (the production
// database did not exist yet when it was published).
var ErrNoSnapshot = errors.New("deploy: this release has no data snapshot")

func (s *Service) snapshotPath(projectID, releaseID string) string {
	if s.d.ProdDB != nil {
		return filepath.Join(s.releaseDir(projectID, releaseID), "data.pgdump")
	}
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
	if s.d.ProdDB != nil {
		return s.snapshotPostgres(ctx, projectID, releaseID)
	}
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
	if s.prodFile(r.ProjectID) == "" && s.d.ProdDB == nil {
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
	if s.d.ProdDB != nil {
		return s.restorePostgres(ctx, rel)
	}
	return s.d.CopySQLite(ctx, s.snapshotPath(rel.ProjectID, rel.ID), s.prodFile(rel.ProjectID))
}
