package app

import (
	"context"
	"log/slog"
	"time"

	"ecode/internal/config"
	"ecode/internal/live"
	"ecode/internal/revoke"
)

// buildRevoke makes the revocation bus (through Redis when --redis-url is
// set, so that every node hears of every revocation before it is answered),
// ends live requests on what it carries, and turns on the credential cache.
func (s *Server) buildRevoke(cfg *config.Config, log *slog.Logger) {
	bus := revoke.NewLocal()
	if s.redis != nil {
		bus = revoke.NewRedis(s.redis, "ecode:", 2*time.Second, log.With("component", "revoke"))
	}
	bus.Handle(s.Live.Revoked)
	s.Auth.UseCache(bus, cfg.AuthCacheTTL)
	s.Revoke = bus
	rc := s.Live.Rechecks()
	s.Metrics.CounterVec("ecode_live_rechecks_total", "Re-checks of this node's live requests against the store while revocations may not reach it (Redis unreachable), by result.", "result", func() map[string]float64 {
		return map[string]float64{"ok": float64(rc.Passes.Load() - rc.Failed.Load()), "failed": float64(rc.Failed.Load())}
	})
	s.Metrics.CounterVec("ecode_live_recheck_ended_total", "Live requests (WebSockets, event streams) a re-check ended, by cause.", "cause", func() map[string]float64 {
		return map[string]float64{"revoked": float64(rc.Revoked.Load()), "project_deleted": float64(rc.Deleted.Load())}
	})
}

// runRecheck re-checks the live requests of this node against the store
// every --live-recheck while its Redis subscription is down, and once when
// it is back, ending those no longer authorized (a revocation published on
// another node meanwhile does not reach this one). Nothing runs on a
// single node (no Redis), nor while the subscription is up.
func (s *Server) runRecheck(ctx context.Context) {
	if s.redis == nil {
		return
	}
	s.Live.Recheck(ctx, live.Recheck{Health: s.Revoke, Every: s.Config.LiveRecheck, Tick: s.RecheckTick,
		Check: s.API.StillAuthorized, OnPass: s.OnRecheck, Log: s.Log.With("component", "live")})
}

// forgetRoots drops the open folder of a project that a revocation names as
// a whole (deleted, for one, on whichever node), or of every project when
// the bus may have missed events.
func (s *Server) forgetRoots(e revoke.Event) {
	switch {
	case e == revoke.Event{}:
		s.Files.Forget("")
	case e.ProjectID != "" && e.UserID == "":
		s.Files.Forget(e.ProjectID)
	}
}

// forgetEverywhere drops the project's open folder on this node and, through
// the revocation bus (an event naming the project alone, which forgetRoots
// turns into a Forget), on every other node: a restore begins, and a node
// keeping the folder open would read it without waiting for the restore.
// While Redis is down the event reaches the others once it is back (the
// bus publishes it again; a node whose own subscription broke drops every
// folder when it subscribes again).
func (s *Server) forgetEverywhere(ctx context.Context, projectID string) {
	s.Files.Forget(projectID)
	if err := s.Revoke.Publish(ctx, revoke.Event{ProjectID: projectID}); err != nil {
		s.Log.Warn("tell the other nodes to reopen a project's folder (they are told once redis is back)", "project_id", projectID, "err", err)
	}
}
