package app

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"ecode/internal/cluster"
	"ecode/internal/config"
)

// buildCluster makes this server a node of several when --internal-addr is
// set: it registers with the store and owns projects through leases. A
// project this node loses (taken over, or given up while draining) has its
// live requests closed with 4012, its agent turn stopped and its sandbox
// stopped. Rate limits move into the store.
func (s *Server) buildCluster(cfg *config.Config, now func() time.Time, log *slog.Logger) {
	if !cfg.Clustered() {
		return
	}
	s.Cluster = cluster.New(s.Store, cluster.Options{NodeID: cfg.NodeName(), Address: cfg.InternalAdvertised(),
		Secret: []byte(cfg.ClusterSecret), TTL: cfg.NodeTTL, DialTimeout: cfg.NodeDial, Now: now, Log: log.With("component", "cluster"),
		Lost: s.projectMoved, LostDeployment: func(projectID string) { s.Deploy.Moved(projectID) }})
	s.Auth.ShareLimits(s.Store) // sign-in and sign-up limits hold across the nodes
}

// projectMoved stops what this node ran for a project another node owns now.
func (s *Server) projectMoved(projectID string) {
	s.Live.EndProjectMoved(projectID)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Agent.StopAndWait(ctx, projectID); err != nil {
		s.Log.Warn("stop the agent turn of a moved project", "project_id", projectID, "err", err)
	}
	if err := s.Runner.Stop(projectID); err != nil {
		s.Log.Warn("stop the sandbox of a moved project", "project_id", projectID, "err", err)
	}
}

// runCluster heartbeats three times per lease until ctx ends, then leaves
// the cluster (its leases freed, so its projects start elsewhere at once).
func (s *Server) runCluster(ctx context.Context) {
	if s.Cluster == nil {
		return
	}
	tick := time.NewTicker(s.Cluster.TTL() / 3)
	defer tick.Stop()
	s.Cluster.Run(ctx, tick.C)
}

// serveInternal serves the internal listener other nodes forward to; only
// requests signed with the cluster secret are served. It returns the
// server, nil when this is a single node.
func (s *Server) serveInternal(errc chan<- error, log *slog.Logger) (*http.Server, error) {
	if s.Cluster == nil {
		return nil, nil
	}
	ln, err := net.Listen("tcp", s.Config.InternalAddr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: s.API.InternalHandler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	log.Info("node "+s.Cluster.ID()+": internal listener on "+ln.Addr().String(), "advertised", s.Config.InternalAdvertised())
	go func() { errc <- srv.Serve(ln) }()
	return srv, nil
}
