package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Checkpoint is the record of one captured project state. The hashes name
// objects in the checkpoint object store; Env and Metrics are JSON objects
// (checkpoint.Env and checkpoint.Metrics).
type Checkpoint struct {
	ID               string
	ProjectID        string
	ParentID         string // "" for the first
	Message          string
	CreatedBy        string // user id, or "" for the system
	Trigger          string // user, agent, restore, fork, deploy, auto
	ManifestHash     string
	DBHash           string // "" without a database snapshot
	ConversationHash string // "" without a conversation
	Env              json.RawMessage
	Metrics          json.RawMessage
	CreatedAt        time.Time
}

const checkpointColumns = `id, project_id, parent_id, message, created_by, "trigger", manifest_hash, db_hash, conversation_hash, env, metrics, created_at`

func scanCheckpoint(sc interface{ Scan(...any) error }) (Checkpoint, error) {
	var c Checkpoint
	var parent sql.NullString
	var env, metrics string
	var at int64
	err := sc.Scan(&c.ID, &c.ProjectID, &parent, &c.Message, &c.CreatedBy, &c.Trigger, &c.ManifestHash,
		&c.DBHash, &c.ConversationHash, &env, &metrics, &at)
	c.ParentID, c.Env, c.Metrics, c.CreatedAt = parent.String, json.RawMessage(env), json.RawMessage(metrics), fromMicros(at)
	return c, mapErr(err)
}

func jsonText(m json.RawMessage) string {
	if len(m) == 0 {
		return "{}"
	}
	return string(m)
}

// CreateCheckpoint records c. The parent, if any, must be a checkpoint of
// the same project (ErrNotFound otherwise).
func (s *Store) CreateCheckpoint(ctx context.Context, c Checkpoint) error {
	return s.InTx(ctx, func(tx *Store) error {
		var parent any
		if c.ParentID != "" {
			var n int
			if err := tx.queryRowW(ctx, `SELECT count(*) FROM checkpoints WHERE id = ? AND project_id = ?`, c.ParentID, c.ProjectID).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return fmt.Errorf("parent checkpoint %s: %w", c.ParentID, ErrNotFound)
			}
			parent = c.ParentID
		}
		_, err := tx.exec(ctx, `INSERT INTO checkpoints (`+checkpointColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.ProjectID, parent, c.Message, c.CreatedBy, c.Trigger, c.ManifestHash, c.DBHash, c.ConversationHash,
			jsonText(c.Env), jsonText(c.Metrics), micros(c.CreatedAt))
		if err != nil {
			return fmt.Errorf("create checkpoint: %w", err)
		}
		return nil
	})
}

// queryRowW reads through the writer (inside InTx, the transaction).
func (s *Store) queryRowW(ctx context.Context, query string, args ...any) *sql.Row {
	return s.w().QueryRowContext(ctx, s.q(query), args...)
}

// Checkpoint returns one checkpoint of a project.
func (s *Store) Checkpoint(ctx context.Context, projectID, id string) (Checkpoint, error) {
	c, err := scanCheckpoint(s.queryRow(ctx, `SELECT `+checkpointColumns+` FROM checkpoints WHERE project_id = ? AND id = ?`, projectID, id))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint %s: %w", id, err)
	}
	return c, nil
}

// LatestCheckpoint returns a project's newest checkpoint (ErrNotFound if none).
func (s *Store) LatestCheckpoint(ctx context.Context, projectID string) (Checkpoint, error) {
	c, err := scanCheckpoint(s.queryRow(ctx, `SELECT `+checkpointColumns+` FROM checkpoints WHERE project_id = ?
		ORDER BY created_at DESC, id DESC LIMIT 1`, projectID))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("latest checkpoint of %s: %w", projectID, err)
	}
	return c, nil
}

// ListCheckpoints returns a project's checkpoints, newest first; limit <= 0
// means all.
func (s *Store) ListCheckpoints(ctx context.Context, projectID string, limit int) ([]Checkpoint, error) {
	if limit <= 0 {
		limit = -1
	}
	q := `SELECT ` + checkpointColumns + ` FROM checkpoints WHERE project_id = ? ORDER BY created_at DESC, id DESC`
	args := []any{projectID}
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list checkpoints: %w", err)
	}
	defer rows.Close()
	var out []Checkpoint
	for rows.Next() {
		c, err := scanCheckpoint(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DeleteCheckpoint deletes a checkpoint record (its children keep their
// place with no parent); the garbage collector then reclaims its objects.
func (s *Store) DeleteCheckpoint(ctx context.Context, projectID, id string) error {
	return affected(s.exec(ctx, `DELETE FROM checkpoints WHERE project_id = ? AND id = ?`, projectID, id))
}

// ListCheckpointRefs calls fn with the object hashes of every checkpoint of
// every project (what the object store's garbage collector must keep).
func (s *Store) ListCheckpointRefs(ctx context.Context, fn func(manifest, db, conversation string) error) error {
	rows, err := s.query(ctx, `SELECT manifest_hash, db_hash, conversation_hash FROM checkpoints`)
	if err != nil {
		return fmt.Errorf("list checkpoint refs: %w", err)
	}
	var refs [][3]string
	for rows.Next() {
		var r [3]string
		if err := rows.Scan(&r[0], &r[1], &r[2]); err != nil {
			rows.Close()
			return err
		}
		refs = append(refs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range refs {
		if err := fn(r[0], r[1], r[2]); err != nil {
			return err
		}
	}
	return nil
}
