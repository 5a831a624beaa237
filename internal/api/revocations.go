package api

import (
	"context"

	"ecode/internal/revoke"
	"ecode/internal/store"
)

// revoked tells every node (this one first) that what e names changed: their
// caches drop it and, with e.End, what depended on it ends. Call it after
// the change is committed. A failure to reach the other nodes is logged:
// the change stands, and nodes that miss it have turned their caches off
// (their subscription is down) or expire them within the cache's lifetime.
func (s *Server) revoked(ctx context.Context, e revoke.Event) {
	if err := s.bus.Publish(context.WithoutCancel(ctx), e); err != nil {
		s.log.Error("tell other nodes about a revocation", "err", err, "event", e)
	}
}

// projectForMember is store.ProjectForMember through the membership cache.
func (s *Server) projectForMember(ctx context.Context, projectID, userID string) (store.Project, error) {
	key := projectID + "\x00" + userID
	p, gen, ok := s.members.Get(key)
	if ok {
		return p, nil
	}
	p, err := s.store.ProjectForMember(ctx, projectID, userID)
	if err != nil {
		return p, err
	}
	s.members.Put(key, revoke.Event{ProjectID: p.ID, UserID: userID}, p, gen)
	return p, nil
}
