// Package live keeps the register of long-lived requests — WebSockets
// (terminals, collaboration, preview upgrades) and event streams (run
// output, agent turns, tree events) — by what they depend on: the project,
// the user, the session or token that authenticated them. Revoking any of
// those ends every request that depended on it at once: the revocation bus
// brings the event from whichever node (Revoked), and while the bus may
// miss events (Redis unreachable) the node re-checks its requests against
// the store every few seconds instead (Recheck).
package live

import (
	"context"
	"sync"

	"ecode/internal/revoke"
)

// Key is what a request depends on. Empty fields match nothing.
type Key struct {
	ProjectID string
	UserID    string
	SessionID string
	TokenID   string
	// Role is the user's role in the project the request was authorized
	// with (empty: any membership will do); only re-checks (Recheck) read
	// it: a revocation ends a member's requests on any change of role.
	Role string
}

// Ended is the cause of a request ended from outside: WebSocket handlers
// close with its code and reason.
type Ended struct {
	Code   int
	Reason string
}

func (e *Ended) Error() string { return e.Reason }

// CloseCode returns the WebSocket close code and reason to send.
func (e *Ended) CloseCode() (int, string) { return e.Code, e.Reason }

// The causes.
var (
	// Revoked: the session or token was revoked, the member removed or
	// their role changed, or the account disabled. Clients may reconnect
	// and will be authorized afresh.
	Revoked = &Ended{Code: 4403, Reason: "access revoked"}
	// ProjectDeleted: the project is being deleted.
	ProjectDeleted = &Ended{Code: 4410, Reason: "project deleted"}
	// Moved: the project's sandbox moved to another node (this one drains
	// or lost its lease). Clients reconnect; their terminals are gone.
	Moved = &Ended{Code: 4012, Reason: "project moved to another node"}
)

// Registry is the register of live requests. The zero value is not usable;
// use New.
type Registry struct {
	mu    sync.Mutex
	next  uint64
	conns map[uint64]entry

	rechecks RecheckStats
}

type entry struct {
	key    Key
	cancel context.CancelCauseFunc
}

// New returns an empty registry.
func New() *Registry { return &Registry{conns: map[uint64]entry{}} }

// Track registers a request that depends on k. The returned context ends
// when ctx ends or when something k depends on is revoked (its cause is
// then one of the Ended values); done unregisters it and must be called.
func (r *Registry) Track(ctx context.Context, k Key) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	r.mu.Lock()
	r.next++
	id := r.next
	r.conns[id] = entry{k, cancel}
	r.mu.Unlock()
	return ctx, func() {
		r.mu.Lock()
		delete(r.conns, id)
		r.mu.Unlock()
		cancel(nil)
	}
}

// Len is the number of live requests.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.conns)
}

// end cancels every request whose key matches, with cause, and returns how
// many it ended.
func (r *Registry) end(match func(Key) bool, cause error) int {
	r.mu.Lock()
	var ended []context.CancelCauseFunc
	for id, e := range r.conns {
		if match(e.key) {
			ended = append(ended, e.cancel)
			delete(r.conns, id)
		}
	}
	r.mu.Unlock()
	for _, cancel := range ended {
		cancel(cause)
	}
	return len(ended)
}

// keys returns the distinct keys of the live requests.
func (r *Registry) keys() []Key {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := make(map[Key]bool, len(r.conns))
	var ks []Key
	for _, e := range r.conns {
		if !seen[e.key] {
			seen[e.key] = true
			ks = append(ks, e.key)
		}
	}
	return ks
}

// EndSession ends the requests authenticated by a session.
func (r *Registry) EndSession(sessionID string) int {
	return r.end(func(k Key) bool { return sessionID != "" && k.SessionID == sessionID }, Revoked)
}

// EndToken ends the requests authenticated by a personal access token.
func (r *Registry) EndToken(tokenID string) int {
	return r.end(func(k Key) bool { return tokenID != "" && k.TokenID == tokenID }, Revoked)
}

// EndUser ends every request of a user (disabled or deleted account).
func (r *Registry) EndUser(userID string) int {
	return r.end(func(k Key) bool { return userID != "" && k.UserID == userID }, Revoked)
}

// EndMember ends a user's requests on one project (removed from it, or
// their role changed).
func (r *Registry) EndMember(projectID, userID string) int {
	return r.end(func(k Key) bool {
		return projectID != "" && userID != "" && k.ProjectID == projectID && k.UserID == userID
	}, Revoked)
}

// EndProject ends every request on a project (it is being deleted).
func (r *Registry) EndProject(projectID string) int {
	return r.end(func(k Key) bool { return projectID != "" && k.ProjectID == projectID }, ProjectDeleted)
}

// EndProjectMoved ends every request on a project whose sandbox this node
// no longer runs.
func (r *Registry) EndProjectMoved(projectID string) int {
	return r.end(func(k Key) bool { return projectID != "" && k.ProjectID == projectID }, Moved)
}

// Revoked ends what a revocation event asks to end (its End flag); give it
// to the revocation bus so that a revocation on any node reaches this one.
func (r *Registry) Revoked(e revoke.Event) {
	if !e.End {
		return
	}
	switch {
	case e.SessionID != "":
		r.EndSession(e.SessionID)
	case e.TokenID != "":
		r.EndToken(e.TokenID)
	case e.ProjectID != "" && e.UserID != "":
		r.EndMember(e.ProjectID, e.UserID)
	case e.ProjectID != "":
		r.EndProject(e.ProjectID)
	case e.UserID != "":
		r.EndUser(e.UserID)
	}
}
