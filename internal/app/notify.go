package app

import (
	"context"
)

// notifyAs is the callback other services are given to tell a user
// something: it files the notification under kind (one of notify.Kinds,
// whatever name the caller uses for its event) and logs a failure, which
// never fails the caller's work.
func (s *Server) notifyAs(kind string) func(ctx context.Context, userID, _, title, body, link string) {
	return func(ctx context.Context, userID, _, title, body, link string) {
		if err := s.Notify.Notify(ctx, userID, kind, title, body, link); err != nil {
			s.Log.Error("notify", "kind", kind, "user_id", userID, "err", err)
		}
	}
}

// notifyKinds is notifyAs for a caller that tells of several events: its
// names for them are translated to notification kinds (others are dropped
// with a log line, a programming error).
func (s *Server) notifyKinds(kinds map[string]string) func(ctx context.Context, userID, kind, title, body, link string) {
	return func(ctx context.Context, userID, kind, title, body, link string) {
		k, ok := kinds[kind]
		if !ok {
			s.Log.Error("notify: unknown event", "event", kind)
			return
		}
		s.notifyAs(k)(ctx, userID, kind, title, body, link)
	}
}
