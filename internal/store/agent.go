package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// AgentTurn is one request to the AI agent and its outcome. Mode and Result
// are JSON (agent.Mode and agent.Result).
type AgentTurn struct {
	ID         string
	ProjectID  string
	UserID     string
	Prompt     string
	Mode       json.RawMessage
	Status     string // running | finished | failed
	StopReason string
	Result     json.RawMessage
	CreatedAt  time.Time
	FinishedAt *time.Time
	NodeID     string       // the node running it ("" on a single node)
	Events     []AgentEvent // filled by AgentTurns when asked
}

// AgentEvent is one stored event of a turn; Data is the agent's Event as JSON.
type AgentEvent struct {
	Seq  int
	Type string
	Data json.RawMessage
}

// CreateAgentTurn records a turn that starts.
func (s *Store) CreateAgentTurn(ctx context.Context, t AgentTurn) error {
	if len(t.Mode) == 0 {
		t.Mode = json.RawMessage("{}")
	}
	_, err := s.exec(ctx, `INSERT INTO agent_turns (id, project_id, user_id, prompt, mode, status, created_at, node_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, t.ID, t.ProjectID, t.UserID, t.Prompt, string(t.Mode), t.Status, micros(t.CreatedAt), t.NodeID)
	if err != nil {
		return fmt.Errorf("create agent turn: %w", mapErr(err))
	}
	return nil
}

// AppendAgentEvents stores events of a turn (in one transaction).
func (s *Store) AppendAgentEvents(ctx context.Context, turnID string, evs []AgentEvent) error {
	if len(evs) == 0 {
		return nil
	}
	return s.InTx(ctx, func(tx *Store) error {
		for _, e := range evs {
			if _, err := tx.exec(ctx, `INSERT INTO agent_events (turn_id, seq, type, data) VALUES (?, ?, ?, ?)`,
				turnID, e.Seq, e.Type, string(e.Data)); err != nil {
				return fmt.Errorf("append agent event: %w", mapErr(err))
			}
		}
		return nil
	})
}

// FinishAgentTurn records the outcome of a turn.
func (s *Store) FinishAgentTurn(ctx context.Context, id, status, stopReason string, result json.RawMessage, at time.Time) error {
	if len(result) == 0 {
		result = json.RawMessage("{}")
	}
	return affected(s.exec(ctx, `UPDATE agent_turns SET status = ?, stop_reason = ?, result = ?, finished_at = ? WHERE id = ?`,
		status, stopReason, string(result), micros(at), id))
}

// FailRunningAgentTurns marks the turns a node left running (by a crash or
// restart) as failed; other nodes' turns are theirs.
func (s *Store) FailRunningAgentTurns(ctx context.Context, at time.Time, nodeID string) error {
	_, err := s.exec(ctx, `UPDATE agent_turns SET status = 'failed', stop_reason = 'interrupted', finished_at = ?
		WHERE status = 'running' AND node_id = ?`, micros(at), nodeID)
	return err
}

// AgentTurns lists a project's last limit turns, oldest first, with their
// events when withEvents is set.
func (s *Store) AgentTurns(ctx context.Context, projectID string, limit int, withEvents bool) ([]AgentTurn, error) {
	rows, err := s.query(ctx, `SELECT id, project_id, user_id, prompt, mode, status, stop_reason, result, created_at, finished_at
		FROM agent_turns WHERE project_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`, projectID, limit)
	if err != nil {
		return nil, fmt.Errorf("list agent turns: %w", err)
	}
	var out []AgentTurn
	for rows.Next() {
		var t AgentTurn
		var mode, result string
		var created int64
		var finished sql.NullInt64
		if err := rows.Scan(&t.ID, &t.ProjectID, &t.UserID, &t.Prompt, &mode, &t.Status, &t.StopReason, &result, &created, &finished); err != nil {
			rows.Close()
			return nil, err
		}
		t.Mode, t.Result = json.RawMessage(mode), json.RawMessage(result)
		t.CreatedAt, t.FinishedAt = fromMicros(created), fromNullMicros(finished)
		out = append(out, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	if withEvents {
		for i := range out {
			if out[i].Events, err = s.AgentEvents(ctx, out[i].ID); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// AgentEvents returns a turn's stored events in order.
func (s *Store) AgentEvents(ctx context.Context, turnID string) ([]AgentEvent, error) {
	rows, err := s.query(ctx, `SELECT seq, type, data FROM agent_events WHERE turn_id = ? ORDER BY seq`, turnID)
	if err != nil {
		return nil, fmt.Errorf("agent events: %w", err)
	}
	defer rows.Close()
	out := []AgentEvent{}
	for rows.Next() {
		var e AgentEvent
		var data string
		if err := rows.Scan(&e.Seq, &e.Type, &data); err != nil {
			return nil, err
		}
		e.Data = json.RawMessage(data)
		out = append(out, e)
	}
	return out, rows.Err()
}

// AgentSession returns the project's stored agent conversation (nil if none).
func (s *Store) AgentSession(ctx context.Context, projectID string) ([]byte, error) {
	var data []byte
	err := s.queryRow(ctx, `SELECT data FROM agent_sessions WHERE project_id = ?`, projectID).Scan(&data)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("agent session: %w", err)
	}
	return data, nil
}

// SaveAgentSession replaces the project's agent conversation.
func (s *Store) SaveAgentSession(ctx context.Context, projectID string, data []byte, at time.Time) error {
	_, err := s.exec(ctx, `INSERT INTO agent_sessions (project_id, data, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (project_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
		projectID, data, micros(at))
	if err != nil {
		return fmt.Errorf("save agent session: %w", mapErr(err))
	}
	return nil
}
