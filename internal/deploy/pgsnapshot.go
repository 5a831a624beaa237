package deploy

import (
	"context"
	"fmt"
	"os"

	"ecode/internal/store"
)

// snapshotPostgres dumps the PostgreSQL production database into the
// release's folder (nothing when there is none yet): written aside, then
// renamed, so a failed dump leaves no snapshot behind.
func (s *Service) snapshotPostgres(ctx context.Context, projectID, releaseID string) error {
	if ok, err := s.d.ProdDB.ProductionExists(ctx, projectID); err != nil || !ok {
		return err
	}
	if err := os.MkdirAll(s.releaseDir(projectID, releaseID), 0o711); err != nil {
		return err
	}
	dst := s.snapshotPath(projectID, releaseID)
	f, err := os.OpenFile(dst+".new", os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	err = s.d.ProdDB.SnapshotProduction(ctx, projectID, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(dst+".new", dst)
	}
	if err != nil {
		os.Remove(dst + ".new")
	}
	return err
}

// restorePostgres replaces the PostgreSQL production database with rel's
// snapshot: the app is stopped first (its instances finish the requests
// they have, up to DrainTimeout) so nothing writes during the swap; the
// caller then starts rel. If the restore fails, the release that ran
// starts again (the data as it was).
func (s *Service) restorePostgres(ctx context.Context, rel store.Release) error {
	f, err := os.Open(s.snapshotPath(rel.ProjectID, rel.ID))
	if err != nil {
		return err
	}
	defer f.Close()
	s.mu.Lock()
	d := s.deps[rel.ProjectID]
	s.mu.Unlock()
	if d != nil {
		if old := d.swap(nil); old != nil {
			old.drain(s.opts.DrainTimeout)
		}
	}
	if err := s.d.ProdDB.RestoreProduction(ctx, rel.ProjectID, f); err != nil {
		if d != nil && s.adopt(context.WithoutCancel(ctx), d) == nil {
			s.wakeNow(d)
		}
		return fmt.Errorf("restore the production database: %w", err)
	}
	return nil
}
