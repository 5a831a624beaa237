package api

import (
	"errors"
	"net/http"
	"time"

	"ecode/internal/cluster"
	"ecode/internal/store"
)

// Node is one server of the service as the admin page lists it.
type Node struct {
	ID          string    `json:"id"`
	Address     string    `json:"address"`
	State       string    `json:"state"` // active | draining | stopped
	Alive       bool      `json:"alive"` // its heartbeat's lease runs
	Projects    int       `json:"projects"`
	StartedAt   time.Time `json:"started_at"`
	HeartbeatAt time.Time `json:"heartbeat_at"`
	Self        bool      `json:"self"` // the node answering
}

// adminNodes lists the nodes sharing the database (none on a single node).
func (s *Server) adminNodes(w http.ResponseWriter, r *http.Request) error {
	nodes, err := cluster.Nodes(r.Context(), s.store, s.now())
	if err != nil {
		return errInternal(err)
	}
	out := []Node{}
	for _, n := range nodes {
		out = append(out, Node{ID: n.ID, Address: n.Address, State: n.State, Alive: n.Alive, Projects: n.Projects,
			StartedAt: n.StartedAt, HeartbeatAt: n.HeartbeatAt, Self: s.cluster != nil && n.ID == s.cluster.ID()})
	}
	writeJSON(w, http.StatusOK, map[string]any{"nodes": out})
	return nil
}

// drainNode marks a node draining: its projects move to other nodes (the
// next request for each starts it elsewhere), its sockets close with 4012.
func (s *Server) drainNode(w http.ResponseWriter, r *http.Request) error {
	err := cluster.Drain(r.Context(), s.store, r.PathValue("nid"))
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound("node")
	}
	if err != nil {
		return errInternal(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
