package api

import (
	"github.com/coder/websocket"

	"ecode/internal/live"

	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"ecode/internal/auth"
	"ecode/internal/store"
)

type ctxKey int

// keyReqInfo is the request's *reqInfo (front.go), which also holds who
// guard authorized the request as.
const keyReqInfo ctxKey = iota

// principal is the signed-in caller; only valid behind a non-public route.
func principal(r *http.Request) auth.Principal {
	if ri, ok := r.Context().Value(keyReqInfo).(*reqInfo); ok {
		return ri.principal
	}
	return auth.Principal{}
}

// project is the route's project as the caller sees it; only valid behind
// a project route.
func project(r *http.Request) store.Project {
	if ri, ok := r.Context().Value(keyReqInfo).(*reqInfo); ok {
		return ri.project
	}
	return store.Project{}
}

const (
	sessionCookie       = "ecode_session"
	secureSessionCookie = "__Host-" + sessionCookie
)

// sessionCookieName is the IDE's session cookie: over HTTPS it carries the
// __Host- prefix, so the browser refuses it from any response that is not
// Secure, host-only and Path=/ (a preview or deployed app on a sibling
// origin cannot plant or shadow it); plain-HTTP installs keep the bare name.
func (s *Server) sessionCookieName() string {
	if s.opts.SecureCookies {
		return secureSessionCookie
	}
	return sessionCookie
}

// sessionToken is the session token the browser sent, if any.
func (s *Server) sessionToken(r *http.Request) (string, bool) {
	c, err := r.Cookie(s.sessionCookieName())
	if err != nil || c.Value == "" {
		return "", false
	}
	return c.Value, true
}

// authenticate resolves the caller from a bearer token, an access_token
// query parameter (WebSocket upgrades only, since browsers cannot set
// headers there) or the session cookie.
func (s *Server) authenticate(r *http.Request) (auth.Principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return auth.Principal{}, errUnauthenticated("Authorization must be a Bearer token")
		}
		return s.auth.TokenUser(r.Context(), strings.TrimSpace(token))
	}
	if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") { // the query is parsed only then
		if t := r.URL.Query().Get("access_token"); t != "" {
			return s.auth.TokenUser(r.Context(), t)
		}
	}
	if t, ok := s.sessionToken(r); ok {
		return s.auth.SessionUser(r.Context(), t)
	}
	return auth.Principal{}, auth.ErrNoSession
}

// authorized is who a request was authorized as: the caller (none for
// public routes and the metrics token) and, behind a project route, the
// route's project as the caller sees it.
type authorized struct {
	principal auth.Principal
	project   store.Project
}

// authorize enforces a route's access class and returns who the caller is.
func (s *Server) authorize(r *http.Request, access Access) (authorized, error) {
	if access == Public {
		return authorized{}, nil
	}
	if access == Metrics && s.opts.MetricsToken != "" {
		given, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if subtle.ConstantTimeCompare([]byte(given), []byte(s.opts.MetricsToken)) == 1 {
			return authorized{}, nil
		}
	}
	p, err := s.authenticate(r)
	if errors.Is(err, auth.ErrNoSession) {
		return authorized{}, errUnauthenticated("sign in first")
	}
	if err != nil {
		return authorized{}, err
	}
	a := authorized{principal: p}
	switch access {
	case Signed:
	case Admin, Metrics:
		if !p.User.IsAdmin {
			return authorized{}, errForbidden("only admins may do this")
		}
	case ProjViewer, ProjEditor, ProjOwner, ProjMember:
		proj, err := s.projectForMember(r.Context(), r.PathValue("id"), p.User.ID)
		if errors.Is(err, store.ErrNotFound) {
			return authorized{}, errNotFound("project")
		}
		if err != nil {
			return authorized{}, err
		}
		need := store.RoleViewer
		switch access {
		case ProjEditor:
			need = store.RoleEditor
		case ProjOwner:
			need = store.RoleOwner
		}
		if !proj.Role.AtLeast(need) {
			return authorized{}, errForbidden(fmt.Sprintf("your role (%s) does not allow this", proj.Role))
		}
		a.project = proj
	default:
		return authorized{}, errInternal(fmt.Errorf("route has unknown access class %d", access))
	}
	return a, nil
}

// peerIP is the address of the connection's other end.
func peerIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// track registers an authorized request in the live register under what it
// depends on (its project, user, session or token), so that revoking any of
// them ends it (see package live). Every request is tracked, so no stream
// or WebSocket can be forgotten; done unregisters it.
func (s *Server) track(r *http.Request, ri *reqInfo) (*http.Request, func()) {
	p := ri.principal
	if p.User.ID == "" { // a public route, or the metrics token
		return r, func() {}
	}
	k := live.Key{UserID: p.User.ID, SessionID: p.SessionID, TokenID: p.TokenID}
	if ri.project.ID != "" {
		k.ProjectID, k.Role = ri.project.ID, string(ri.project.Role)
	}
	ctx, done := s.live.Track(r.Context(), k)
	return r.WithContext(ctx), done
}

// closeCode is the WebSocket close code for a connection whose context
// ended: the revocation's own code when it was ended from outside (package
// live), otherwise fallback.
func closeCode(ctx context.Context, fallback websocket.StatusCode) (websocket.StatusCode, string) {
	var e *live.Ended
	if errors.As(context.Cause(ctx), &e) {
		return websocket.StatusCode(e.Code), e.Reason
	}
	return fallback, ""
}
