package history

import (
	"context"
	"log/slog"
	"time"

	"ecode/internal/checkpoint"
)

// refs lists what every recorded checkpoint references.
func (s *Service) refs() checkpoint.RefLister {
	return func(ctx context.Context, fn func(checkpoint.Refs) error) error {
		return s.store.ListCheckpointRefs(ctx, func(m, d, c string) error {
			return fn(checkpoint.Refs{Manifest: checkpoint.Hash(m), DB: checkpoint.Hash(d), Conversation: checkpoint.Hash(c)})
		})
	}
}

// GC deletes objects no recorded checkpoint references (older than the
// grace period, so checkpoints being created elsewhere are safe).
func (s *Service) GC(ctx context.Context) (checkpoint.GCStats, error) {
	return s.repo.GC(ctx, s.refs(), checkpoint.GCOptions{})
}

// Fsck checks that every referenced object is present and intact.
func (s *Service) Fsck(ctx context.Context) (checkpoint.FsckReport, error) {
	return s.repo.Fsck(ctx, s.refs())
}

// RunGC collects garbage on every tick until ctx ends.
func (s *Service) RunGC(ctx context.Context, tick <-chan time.Time, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			st, err := s.GC(ctx)
			if err != nil {
				if ctx.Err() == nil {
					log.Warn("checkpoint garbage collection", "err", err)
				}
				continue
			}
			log.Info("checkpoint garbage collection", "objects", st.Objects, "deleted", st.Deleted, "deleted_bytes", st.DeletedBytes)
		}
	}
}

// DefaultRetention keeps the newest 100 checkpoints of each project and all
// younger than 30 days; checkpoints people saved themselves and published releases are kept
// regardless. Older ones are deleted after each new checkpoint (GC then
// frees their objects).
func DefaultRetention() checkpoint.RetentionPolicy {
	return checkpoint.RetentionPolicy{KeepLast: 100, KeepWithin: 30 * 24 * time.Hour}
}

// SetRetention changes the retention policy.
func (s *Service) SetRetention(p checkpoint.RetentionPolicy) { s.retention = p }

// retain deletes the project's checkpoints the retention policy lets go.
func (s *Service) retain(ctx context.Context, projectID string) error {
	cs, err := s.store.ListCheckpoints(ctx, projectID, 100_000)
	if err != nil {
		return err
	}
	items := make([]checkpoint.RetentionItem, len(cs))
	for i, c := range cs {
		items[i] = checkpoint.RetentionItem{ID: c.ID, CreatedAt: c.CreatedAt, Pinned: c.Trigger == "user" || c.Trigger == "deploy"}
	}
	for _, id := range checkpoint.Expired(items, s.now(), s.retention) {
		if err := s.store.DeleteCheckpoint(ctx, projectID, id); err != nil {
			return err
		}
	}
	return nil
}
