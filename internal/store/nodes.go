package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Node states.
const (
	NodeActive   = "active"   // takes projects
	NodeDraining = "draining" // gives its projects up and takes no new ones
	NodeStopped  = "stopped"  // left the cluster on shutdown
)

// Node is one `ecode serve` process of the service.
type Node struct {
	ID          string
	Address     string // the internal listener's URL other nodes forward to
	State       string
	StartedAt   time.Time
	HeartbeatAt time.Time
	ExpiresAt   time.Time // alive while this is ahead
	Projects    int       // project leases it holds
	Deployments int       // deployment leases it holds
}

// Lease is the node that owns a project's sandbox until ExpiresAt, with
// that node's row (zero when the node is unknown).
type Lease struct {
	ProjectID string
	NodeID    string
	ExpiresAt time.Time
	Node      Node
}

// RegisterNode records a node that starts (or starts again): active, alive
// until until.
func (s *Store) RegisterNode(ctx context.Context, n Node) error {
	_, err := s.exec(ctx, `INSERT INTO nodes (id, address, state, started_at, heartbeat_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET address = excluded.address, state = excluded.state,
		started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at`,
		n.ID, n.Address, NodeActive, micros(n.StartedAt), micros(n.HeartbeatAt), micros(n.ExpiresAt))
	if err != nil {
		return fmt.Errorf("register node: %w", err)
	}
	return nil
}

// Lease tables: a project's sandbox, and a project's deployment.
const (
	projectLeases    = "project_leases"
	deploymentLeases = "deployment_leases"
)

// NodeHeartbeat renews a node and every lease it holds until until; it
// returns the node's state and the projects whose sandbox (held) and
// whose deployment (deps) it holds.
func (s *Store) NodeHeartbeat(ctx context.Context, id string, now, until time.Time) (state string, held, deps []string, err error) {
	err = s.InTx(ctx, func(tx *Store) error {
		if err := affected(tx.exec(ctx, `UPDATE nodes SET heartbeat_at = ?, expires_at = ? WHERE id = ?`,
			micros(now), micros(until), id)); err != nil {
			return err
		}
		if err := tx.queryRow(ctx, `SELECT state FROM nodes WHERE id = ?`, id).Scan(&state); err != nil {
			return mapErr(err)
		}
		for _, table := range []string{projectLeases, deploymentLeases} {
			if _, err := tx.exec(ctx, `UPDATE `+table+` SET expires_at = ? WHERE node_id = ?`, micros(until), id); err != nil {
				return err
			}
		}
		if held, err = tx.strings(ctx, `SELECT project_id FROM project_leases WHERE node_id = ? ORDER BY project_id`, id); err != nil {
			return err
		}
		deps, err = tx.strings(ctx, `SELECT project_id FROM deployment_leases WHERE node_id = ? ORDER BY project_id`, id)
		return err
	})
	if err != nil {
		return "", nil, nil, fmt.Errorf("node heartbeat: %w", err)
	}
	return state, held, deps, nil
}

// SetNodeState changes a node's state (draining, stopped); ErrNotFound
// when no node has that id.
func (s *Store) SetNodeState(ctx context.Context, id, state string) error {
	return affected(s.exec(ctx, `UPDATE nodes SET state = ? WHERE id = ?`, state, id))
}

// NodeState returns a node's state; ErrNotFound for an unknown node.
func (s *Store) NodeState(ctx context.Context, id string) (string, error) {
	var state string
	err := s.queryRow(ctx, `SELECT state FROM nodes WHERE id = ?`, id).Scan(&state)
	return state, mapErr(err)
}

// ReleaseNodeLeases gives up every lease of a node and returns the
// projects whose sandbox (held) and whose deployment (deps) it held.
func (s *Store) ReleaseNodeLeases(ctx context.Context, id string) (held, deps []string, err error) {
	err = s.InTx(ctx, func(tx *Store) error {
		var err error
		if held, err = tx.strings(ctx, `SELECT project_id FROM project_leases WHERE node_id = ? ORDER BY project_id`, id); err != nil {
			return err
		}
		if deps, err = tx.strings(ctx, `SELECT project_id FROM deployment_leases WHERE node_id = ? ORDER BY project_id`, id); err != nil {
			return err
		}
		if _, err = tx.exec(ctx, `DELETE FROM project_leases WHERE node_id = ?`, id); err != nil {
			return err
		}
		_, err = tx.exec(ctx, `DELETE FROM deployment_leases WHERE node_id = ?`, id)
		return err
	})
	return held, deps, err
}

// ReleaseProjectLease gives up node's lease of a project, if it holds it.
func (s *Store) ReleaseProjectLease(ctx context.Context, projectID, node string) error {
	_, err := s.exec(ctx, `DELETE FROM project_leases WHERE project_id = ? AND node_id = ?`, projectID, node)
	return err
}

// ReleaseDeploymentLease gives up node's lease of a project's deployment,
// if it holds it.
func (s *Store) ReleaseDeploymentLease(ctx context.Context, projectID, node string) error {
	_, err := s.exec(ctx, `DELETE FROM deployment_leases WHERE project_id = ? AND node_id = ?`, projectID, node)
	return err
}

// Nodes lists the nodes with the number of project leases each holds.
func (s *Store) Nodes(ctx context.Context) ([]Node, error) {
	rows, err := s.query(ctx, `SELECT n.id, n.address, n.state, n.started_at, n.heartbeat_at, n.expires_at,
		(SELECT COUNT(*) FROM project_leases l WHERE l.node_id = n.id),
		(SELECT COUNT(*) FROM deployment_leases d WHERE d.node_id = n.id) FROM nodes n ORDER BY n.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Node
	for rows.Next() {
		var n Node
		var started, beat, exp int64
		if err := rows.Scan(&n.ID, &n.Address, &n.State, &started, &beat, &exp, &n.Projects, &n.Deployments); err != nil {
			return nil, err
		}
		n.StartedAt, n.HeartbeatAt, n.ExpiresAt = fromMicros(started), fromMicros(beat), fromMicros(exp)
		out = append(out, n)
	}
	return out, rows.Err()
}

// ProjectLease returns a project's lease with its node; ErrNotFound when
// no node holds one.
func (s *Store) ProjectLease(ctx context.Context, projectID string) (Lease, error) {
	return s.lease(ctx, projectLeases, projectID)
}

// DeploymentLease returns the lease of a project's deployment with its
// node; ErrNotFound when no node holds one.
func (s *Store) DeploymentLease(ctx context.Context, projectID string) (Lease, error) {
	return s.lease(ctx, deploymentLeases, projectID)
}

func (s *Store) lease(ctx context.Context, table, projectID string) (Lease, error) {
	var l Lease
	var exp int64
	var addr, state sql.NullString
	var nodeExp sql.NullInt64
	err := s.queryRow(ctx, `SELECT l.node_id, l.expires_at, n.address, n.state, n.expires_at
		FROM `+table+` l LEFT JOIN nodes n ON n.id = l.node_id WHERE l.project_id = ?`, projectID).
		Scan(&l.NodeID, &exp, &addr, &state, &nodeExp)
	if err != nil {
		return Lease{}, mapErr(err)
	}
	l.ProjectID, l.ExpiresAt = projectID, fromMicros(exp)
	l.Node = Node{ID: l.NodeID, Address: addr.String, State: state.String}
	if nodeExp.Valid {
		l.Node.ExpiresAt = fromMicros(nodeExp.Int64)
	}
	return l, nil
}

// TakeProjectLease gives the project's lease to node until until, if the
// lease is still prev (nil: there was none): compare-and-swap, so of two
// nodes taking one expired lease at once only one succeeds (false for the
// other). Agent turns left running by the previous owner are marked
// interrupted: their node no longer serves the project.
func (s *Store) TakeProjectLease(ctx context.Context, projectID, node string, prev *Lease, now, until time.Time) (bool, error) {
	return s.takeLease(ctx, projectLeases, `UPDATE agent_turns SET status = 'failed', stop_reason = 'interrupted', finished_at = ?
		WHERE project_id = ? AND status = 'running' AND node_id <> ?`, projectID, node, prev, now, until)
}

// TakeDeploymentLease is TakeProjectLease for the lease of a project's
// deployment: scheduled runs left running by the previous owner are marked
// failed.
func (s *Store) TakeDeploymentLease(ctx context.Context, projectID, node string, prev *Lease, now, until time.Time) (bool, error) {
	return s.takeLease(ctx, deploymentLeases, `UPDATE deployment_runs SET status = 'failed',
		reason = 'the server running it stopped during the run', ended_at = ?
		WHERE project_id = ? AND status = 'running' AND node_id <> ?`, projectID, node, prev, now, until)
}

// takeLease swaps a lease of table, then runs orphans (now, project, node)
// over what the previous owner left.
func (s *Store) takeLease(ctx context.Context, table, orphans, projectID, node string, prev *Lease, now, until time.Time) (bool, error) {
	var took bool
	err := s.InTx(ctx, func(tx *Store) error {
		var res sql.Result
		var err error
		if prev == nil {
			res, err = tx.exec(ctx, `INSERT INTO `+table+` (project_id, node_id, acquired_at, expires_at)
				VALUES (?, ?, ?, ?) ON CONFLICT (project_id) DO NOTHING`, projectID, node, micros(now), micros(until))
		} else {
			res, err = tx.exec(ctx, `UPDATE `+table+` SET node_id = ?, acquired_at = ?, expires_at = ?
				WHERE project_id = ? AND node_id = ? AND expires_at = ?`,
				node, micros(now), micros(until), projectID, prev.NodeID, micros(prev.ExpiresAt))
		}
		if err != nil {
			return mapErr(err)
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			return err
		}
		took = true
		_, err = tx.exec(ctx, orphans, micros(now), projectID, node)
		return err
	})
	if errors.Is(err, ErrConflict) { // the project is being deleted or its row is gone
		return false, ErrNotFound
	}
	if err != nil {
		return false, fmt.Errorf("take %s: %w", table, err)
	}
	return took, nil
}

// strings runs a query whose rows are one string each.
func (s *Store) strings(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// UpdateRateLimit reads, changes and writes the shared state of one rate
// limit key in a transaction that holds the key's row: fn gets the stored
// value ("" when none or expired) and returns the new one and when it may
// be forgotten. Every node limits through the same rows.
func (s *Store) UpdateRateLimit(ctx context.Context, key string, now time.Time, fn func(value string) (string, time.Time)) error {
	return s.InTx(ctx, func(tx *Store) error {
		if _, err := tx.exec(ctx, `INSERT INTO rate_limits (key, value, expires_at) VALUES (?, '', 0)
			ON CONFLICT (key) DO NOTHING`, key); err != nil {
			return err
		}
		lock := ""
		if tx.engine == Postgres {
			lock = " FOR UPDATE"
		}
		var value string
		var exp int64
		if err := tx.queryRow(ctx, `SELECT value, expires_at FROM rate_limits WHERE key = ?`+lock, key).Scan(&value, &exp); err != nil {
			return mapErr(err)
		}
		if exp < micros(now) {
			value = ""
		}
		value, until := fn(value)
		_, err := tx.exec(ctx, `UPDATE rate_limits SET value = ?, expires_at = ? WHERE key = ?`, value, micros(until), key)
		return err
	})
}

// DeleteRateLimit forgets a rate limit key (a success resets it).
func (s *Store) DeleteRateLimit(ctx context.Context, key string) error {
	_, err := s.exec(ctx, `DELETE FROM rate_limits WHERE key = ?`, key)
	return err
}

// SweepRateLimits removes keys whose state expired before now.
func (s *Store) SweepRateLimits(ctx context.Context, now time.Time) error {
	_, err := s.exec(ctx, `DELETE FROM rate_limits WHERE expires_at < ?`, micros(now))
	return err
}
