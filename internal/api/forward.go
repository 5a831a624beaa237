package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"

	"ecode/internal/cluster"
)

// Many nodes, one service: a project's sandbox (its run, exec, terminals,
// preview, agent turn) lives on the one node holding the project's lease.
// A request for it that lands elsewhere is forwarded to that node's
// internal listener, signed with the cluster secret; the owner
// authenticates the caller again from the same credentials and serves it.

// forwarded marks a request that came over the internal listener from
// another node, with the client's address that node saw.
type forwarded struct{ client string }

const (
	keyForwarded ctxKey = 200 + iota
	keyForwardTo
	keyForwardFallback
	keyAPIRoute // a route of the API (not the preview's nor an app's): its WebSockets are ours
)

func isForwarded(ctx context.Context) bool {
	_, ok := ctx.Value(keyForwarded).(forwarded)
	return ok
}

// InternalHandler serves the internal listener (--internal-addr): only
// requests signed by a node of the cluster, which are then served as if
// they had come to this node, never forwarded again.
func (s *Server) InternalHandler() http.Handler {
	h, node := s.Handler(), s.nodeHandler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cluster == nil {
			http.Error(w, "not a cluster node", http.StatusNotFound)
			return
		}
		if _, err := s.cluster.Verify(r); err != nil {
			s.log.Warn("internal request refused", "err", err, "peer", r.RemoteAddr, "path", r.URL.Path)
			s.writeError(w, r, errUnauthenticated("requests between nodes must be signed with the cluster secret"))
			return
		}
		if isNodeCall(r) {
			node.ServeHTTP(w, r)
			return
		}
		client := r.Header.Get(cluster.ClientHeader)
		r.Header.Del(cluster.Header)
		r.Header.Del(cluster.ClientHeader)
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyForwarded, forwarded{client: client})))
	})
}

// atOwner runs h on the node that owns the route's project: here when this
// node owns it (taking its lease first if nobody does), otherwise forwarded
// to the owner. A forwarded request is served here only while this node is
// still the owner; otherwise it answers 503 and the client tries again.
func (s *Server) atOwner(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if s.cluster == nil {
			return h(w, r)
		}
		r = r.WithContext(context.WithValue(r.Context(), keyAPIRoute, true))
		return s.serveAtOwner(w, r, project(r).ID, h)
	}
}

// atDeploymentOwner runs h on the node that runs the route's project's
// deployment (taking its lease for this node if nobody holds it), as
// atOwner does for the sandbox: publishing and activating a release start
// instances, which belong on that node.
func (s *Server) atDeploymentOwner(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if s.cluster == nil {
			return h(w, r)
		}
		o, err := s.cluster.DeploymentOwner(r.Context(), project(r).ID, true)
		return s.serveAt(w, r, o, err, h)
	}
}

// atRunningDeployment runs h on the node running the project's deployment
// when one does (a production secret change restarts the instances there),
// and here when none does: whichever node starts it later reads the new
// secrets then.
func (s *Server) atRunningDeployment(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if s.cluster == nil {
			return h(w, r)
		}
		o, err := s.cluster.DeploymentOwner(r.Context(), project(r).ID, false)
		if err == nil && o.NodeID == "" {
			return h(w, r)
		}
		return s.serveAt(w, r, o, err, h)
	}
}

// atRunningDeploymentOr is atRunningDeployment for reads that can be
// answered without the running node: when that node does not answer (it
// died and its lease has not run out yet), or this node was asked by one
// that thinks it runs the deployment and it no longer does, fallback
// answers here instead of an error.
func (s *Server) atRunningDeploymentOr(h, fallback handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if s.cluster == nil {
			return h(w, r)
		}
		o, err := s.cluster.DeploymentOwner(r.Context(), project(r).ID, false)
		switch {
		case err != nil:
			return err
		case o.NodeID == "" || o.Self:
			return h(w, r)
		case isForwarded(r.Context()):
			return fallback(w, r)
		}
		target, err := url.Parse(o.Address)
		if err != nil {
			return errInternal(err)
		}
		ctx := context.WithValue(r.Context(), keyForwardTo, target)
		ctx = context.WithValue(ctx, keyForwardFallback, func(w http.ResponseWriter) error { return fallback(w, r) })
		s.forwarder.ServeHTTP(w, r.WithContext(ctx))
		return nil
	}
}

// ForwardApp serves a published app's request on the node at address (the
// node running the deployment), signed; false, serving nothing, when r
// itself came from another node (a request is forwarded once).
func (s *Server) ForwardApp(w http.ResponseWriter, r *http.Request, address string) bool {
	if s.cluster == nil || isForwarded(r.Context()) {
		return false
	}
	target, err := url.Parse(address)
	if err != nil {
		s.writeError(w, r, errInternal(err))
		return true
	}
	s.forwarder.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyForwardTo, target)))
	return true
}

func (s *Server) serveAtOwner(w http.ResponseWriter, r *http.Request, projectID string, h handlerFunc) error {
	o, err := s.cluster.Owner(r.Context(), projectID)
	return s.serveAt(w, r, o, err, h)
}

// serveAt runs h here when o is this node, otherwise forwards r to o.
func (s *Server) serveAt(w http.ResponseWriter, r *http.Request, o cluster.Owner, err error, h handlerFunc) error {
	if errors.Is(err, cluster.ErrNoNode) {
		w.Header().Set("Retry-After", "2")
		return errUnavailable("no_node", "no server can run this project now; try again shortly")
	}
	if err != nil {
		return err
	}
	if o.Self {
		return h(w, r)
	}
	if isForwarded(r.Context()) {
		w.Header().Set("Retry-After", "1")
		return errUnavailable("project_moved", "the project moved to another server; try again")
	}
	target, err := url.Parse(o.Address)
	if err != nil {
		return errInternal(err)
	}
	s.forwarder.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyForwardTo, target)))
	return nil
}

// newForwarder is the reverse proxy to owner nodes: the request as it came
// (same Host, credentials and body; WebSocket upgrades and event streams
// pass through), signed for the owner's internal listener. The transport
// watches the owner for as long as an answer streams: when it goes silent,
// an event stream breaks off (the client reconnects) and a WebSocket closes
// with 4012 (forwardws.go).
func (s *Server) newForwarder() *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Transport: s.cluster.Transport(), // gives up on a node that is gone
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(pr.In.Context().Value(keyForwardTo).(*url.URL))
			pr.Out.Host = pr.In.Host
			pr.Out.Header.Set(cluster.ClientHeader, clientIP(pr.In))
			s.cluster.Sign(pr.Out)
		},
		FlushInterval: -1, // run output and agent events stream
		// A terminal's socket closes with 4012 when the owner goes silent.
		ModifyResponse: forwardedSocket,
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelWarn), // e.g. a stream cut off mid-way
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return // the client went away, or its access was revoked
			}
			s.log.Warn("forward to the owner node", "err", err, "path", r.URL.Path)
			if fallback, ok := r.Context().Value(keyForwardFallback).(func(http.ResponseWriter) error); ok {
				if err := fallback(w); err != nil {
					s.writeError(w, r, err)
				}
				return
			}
			w.Header().Set("Retry-After", "2")
			s.writeError(w, r, errUnavailable("node_unreachable", "the server running this project does not answer; try again shortly"))
		},
	}
}
