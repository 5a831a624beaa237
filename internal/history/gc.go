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
