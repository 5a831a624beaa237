package app

import (
	"context"
	"log/slog"
	"time"

	"ecode/internal/store"
)

// errorRetention is how long an error group not seen again is kept.
const errorRetention = 30 * 24 * time.Hour

// pruneErrors forgets the error groups not seen for errorRetention, once
// an hour until ctx ends (a loop for now; a periodic job once jobs exist).
func pruneErrors(ctx context.Context, st *store.Store, now func() time.Time, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := st.PruneErrorGroups(ctx, now().Add(-errorRetention)); err != nil && ctx.Err() == nil {
			log.Warn("prune tracked errors", "err", err)
		} else if n > 0 {
			log.Info("pruned tracked errors", "groups", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
