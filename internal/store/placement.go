package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Placement of deployments on the nodes (package cluster): what a node's
// schedule tick reads instead of every deployment and every lease. Each
// query's result follows the deployments that need the node: the ones it
// holds, and the ones nobody alive holds.

// liveDeployment is the condition on deployments d that have a live release.
const liveDeployment = `d.active_release_id IS NOT NULL AND d.active_release_id <> ''`

// deploymentColumnsOf is deploymentColumns qualified with the alias d.
var deploymentColumnsOf = "d." + strings.ReplaceAll(deploymentColumns, ", ", ", d.")

// UnheldDeployments returns the live deployments no alive active node
// holds at now: without a lease, with an expired lease, or with a lease of
// a node that is draining, stopped or unknown; in the order they were
// created. One query (a left join of the leases and their nodes).
func (s *Store) UnheldDeployments(ctx context.Context, now time.Time) ([]Deployment, error) {
	ds, err := s.deployments(ctx, `SELECT `+deploymentColumnsOf+` FROM deployments d
		LEFT JOIN deployment_leases l ON l.project_id = d.project_id
		LEFT JOIN nodes n ON n.id = l.node_id
		WHERE `+liveDeployment+` AND (l.project_id IS NULL OR l.expires_at <= ? OR n.state IS NULL OR n.state <> 'active')
		ORDER BY d.created_at, d.project_id`, micros(now))
	if err != nil {
		return nil, fmt.Errorf("unheld deployments: %w", err)
	}
	return ds, nil
}

// HeldDeployments returns the live deployments whose lease node holds
// unexpired at now, while node is active; in the order they were created.
// One query over the node's leases (deployment_leases_node).
func (s *Store) HeldDeployments(ctx context.Context, node string, now time.Time) ([]Deployment, error) {
	ds, err := s.deployments(ctx, `SELECT `+deploymentColumnsOf+` FROM deployment_leases l
		JOIN deployments d ON d.project_id = l.project_id
		JOIN nodes n ON n.id = l.node_id
		WHERE l.node_id = ? AND l.expires_at > ? AND n.state = 'active' AND `+liveDeployment+`
		ORDER BY d.created_at, d.project_id`, node, micros(now))
	if err != nil {
		return nil, fmt.Errorf("deployments held by %s: %w", node, err)
	}
	return ds, nil
}

// CountLiveDeployments counts the deployments with a live release.
func (s *Store) CountLiveDeployments(ctx context.Context) (int, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM deployments d WHERE `+liveDeployment).Scan(&n); err != nil {
		return 0, fmt.Errorf("count live deployments: %w", err)
	}
	return n, nil
}
