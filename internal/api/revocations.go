package api

import (
	"context"
	"errors"

	"ecode/internal/live"
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

// StillAuthorized returns, of the keys of this node's live requests, those
// that no longer hold, with the cause a revocation would have ended them
// with: live.Revoked when the session or token that authenticated them is
// gone or expired, the account disabled or deleted, the membership gone or
// its role changed; live.ProjectDeleted when the project is gone or being
// deleted. It reads the store once per distinct session, token, account,
// membership and project. The live register calls it while revocations may
// not reach this node (live.Registry.Recheck).
func (s *Server) StillAuthorized(ctx context.Context, keys []live.Key) (map[live.Key]*live.Ended, error) {
	holds := map[string]bool{} // "s"+session, "t"+token, "u"+user ID, "p"+project gone
	roles := map[[2]string]store.Role{}
	check := func(key string, fn func(context.Context, string) (bool, error), id string) (bool, error) {
		ok, seen := holds[key]
		if !seen {
			var err error
			if ok, err = fn(ctx, id); err != nil {
				return false, err
			}
			holds[key] = ok
		}
		return ok, nil
	}
	ended := map[live.Key]*live.Ended{}
	for _, k := range keys {
		var ok bool
		var err error
		switch {
		case k.SessionID != "":
			ok, err = check("s"+k.SessionID, s.auth.SessionHolds, k.SessionID)
		case k.TokenID != "":
			ok, err = check("t"+k.TokenID, s.auth.TokenHolds, k.TokenID)
		case k.UserID != "":
			ok, err = check("u"+k.UserID, s.auth.UserHolds, k.UserID)
		default:
			ok = true
		}
		if err != nil {
			return nil, err
		}
		if !ok {
			ended[k] = live.Revoked
			continue
		}
		if k.ProjectID == "" || k.UserID == "" {
			continue
		}
		m := [2]string{k.ProjectID, k.UserID}
		role, seen := roles[m]
		if !seen {
			p, err := s.store.ProjectForMember(ctx, k.ProjectID, k.UserID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			role, roles[m] = p.Role, p.Role // "" when no longer a member, or the project is gone
		}
		switch {
		case role == "":
			gone, err := check("p"+k.ProjectID, s.store.ProjectGone, k.ProjectID)
			if err != nil {
				return nil, err
			}
			ended[k] = live.Revoked
			if gone {
				ended[k] = live.ProjectDeleted
			}
		case k.Role != "" && string(role) != k.Role:
			ended[k] = live.Revoked
		}
	}
	return ended, nil
}
