package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// MonitorSample is one row of a node's own counters (see package monitor):
// the requests, 5xx answers and latency percentiles of the Seconds before
// At, and the state at At.
type MonitorSample struct {
	Node             string
	At               time.Time
	Seconds          int64
	Requests         int64
	Errors5xx        int64
	P50, P95         time.Duration
	SandboxesActive  int64
	UsersActive      int64
	AgentSpendMicros int64
	JobsQueued       int64
	JobsRunning      int64
	JobsFailed       int64
	DiskFreeBytes    int64
	DiskTotalBytes   int64
}

const monitorColumns = `node, at, seconds, requests, errors_5xx, p50_us, p95_us, sandboxes_active, users_active,
	agent_spend_micros, jobs_queued, jobs_running, jobs_failed, disk_free_bytes, disk_total_bytes`

// AddMonitorSample stores one sample.
func (s *Store) AddMonitorSample(ctx context.Context, m MonitorSample) error {
	_, err := s.exec(ctx, `INSERT INTO monitor_samples (`+monitorColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.Node, micros(m.At), m.Seconds, m.Requests, m.Errors5xx, m.P50.Microseconds(), m.P95.Microseconds(),
		m.SandboxesActive, m.UsersActive, m.AgentSpendMicros, m.JobsQueued, m.JobsRunning, m.JobsFailed,
		m.DiskFreeBytes, m.DiskTotalBytes)
	if err != nil {
		return fmt.Errorf("add monitor sample: %w", err)
	}
	return nil
}

// MonitorSamples returns every node's samples taken at or after since, oldest first.
func (s *Store) MonitorSamples(ctx context.Context, since time.Time) ([]MonitorSample, error) {
	rows, err := s.query(ctx, `SELECT `+monitorColumns+` FROM monitor_samples WHERE at >= ? ORDER BY at, node`, micros(since))
	if err != nil {
		return nil, fmt.Errorf("list monitor samples: %w", err)
	}
	defer rows.Close()
	out := []MonitorSample{}
	for rows.Next() {
		var m MonitorSample
		var at, p50, p95 int64
		if err := rows.Scan(&m.Node, &at, &m.Seconds, &m.Requests, &m.Errors5xx, &p50, &p95, &m.SandboxesActive,
			&m.UsersActive, &m.AgentSpendMicros, &m.JobsQueued, &m.JobsRunning, &m.JobsFailed,
			&m.DiskFreeBytes, &m.DiskTotalBytes); err != nil {
			return nil, err
		}
		m.At, m.P50, m.P95 = fromMicros(at), time.Duration(p50)*time.Microsecond, time.Duration(p95)*time.Microsecond
		out = append(out, m)
	}
	return out, rows.Err()
}

// PruneMonitorSamples deletes the samples taken before before and reports how many.
func (s *Store) PruneMonitorSamples(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM monitor_samples WHERE at < ?`, micros(before))
	if err != nil {
		return 0, fmt.Errorf("prune monitor samples: %w", err)
	}
	return res.RowsAffected()
}

// ActiveUsers counts the users with a session used at or after since.
func (s *Store) ActiveUsers(ctx context.Context, since time.Time) (int64, error) {
	var n int64
	err := s.queryRow(ctx, `SELECT COUNT(DISTINCT user_id) FROM sessions WHERE last_seen_at >= ?`, micros(since)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count active users: %w", err)
	}
	return n, nil
}

// LedgerSpend sums the amounts (micro-units) of the ledger entries of these
// meters recorded in [from, to).
func (s *Store) LedgerSpend(ctx context.Context, meters []string, from, to time.Time) (int64, error) {
	if len(meters) == 0 {
		return 0, nil
	}
	args := []any{micros(from), micros(to)}
	for _, m := range meters {
		args = append(args, m)
	}
	var n int64
	err := s.queryRow(ctx, `SELECT CAST(COALESCE(SUM(amount_micros), 0) AS BIGINT) FROM ledger_entries
		WHERE created_at >= ? AND created_at < ? AND meter IN (?`+strings.Repeat(", ?", len(meters)-1)+`)`, args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sum ledger spend: %w", err)
	}
	return n, nil
}
