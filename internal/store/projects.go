package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Role is a member's role in a project.
type Role string

// The roles, from most to least powerful.
const (
	RoleOwner  Role = "owner"
	RoleEditor Role = "editor"
	RoleViewer Role = "viewer"
)

// AtLeast reports whether r grants at least what min grants.
func (r Role) AtLeast(min Role) bool { return rank(r) >= rank(min) }

func rank(r Role) int {
	switch r {
	case RoleOwner:
		return 3
	case RoleEditor:
		return 2
	case RoleViewer:
		return 1
	}
	return 0
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return rank(r) > 0 }

// Project is a project as one member sees it (Role is that member's role).
type Project struct {
	ID        string
	Name      string
	Template  string
	OwnerID   string
	CreatedAt time.Time
	UpdatedAt time.Time
	Role      Role
}

const projectColumns = `p.id, p.name, p.template, p.owner_id, p.created_at, p.updated_at, m.role`

func scanProject(sc interface{ Scan(...any) error }) (Project, error) {
	var p Project
	var c, u int64
	err := sc.Scan(&p.ID, &p.Name, &p.Template, &p.OwnerID, &c, &u, &p.Role)
	p.CreatedAt, p.UpdatedAt = fromMicros(c), fromMicros(u)
	return p, mapErr(err)
}

// CreateProject inserts p and makes p.OwnerID its owner.
func (s *Store) CreateProject(ctx context.Context, p Project) (Project, error) {
	err := s.InTx(ctx, func(tx *Store) error {
		_, err := tx.exec(ctx, `INSERT INTO projects (id, name, template, owner_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
			p.ID, p.Name, p.Template, p.OwnerID, micros(p.CreatedAt), micros(p.UpdatedAt))
		if err != nil {
			return err
		}
		_, err = tx.exec(ctx, `INSERT INTO project_members (project_id, user_id, role, created_at) VALUES (?, ?, ?, ?)`,
			p.ID, p.OwnerID, RoleOwner, micros(p.CreatedAt))
		return err
	})
	if err != nil {
		return Project{}, fmt.Errorf("create project: %w", err)
	}
	p.Role = RoleOwner
	return p, nil
}

// ProjectForMember returns a project as seen by userID, or ErrNotFound when
// it does not exist or userID is not a member.
func (s *Store) ProjectForMember(ctx context.Context, id, userID string) (Project, error) {
	p, err := scanProject(s.queryRow(ctx, `SELECT `+projectColumns+`
		FROM projects p JOIN project_members m ON m.project_id = p.id
		WHERE p.id = ? AND m.user_id = ? AND p.deleting_at IS NULL`, id, userID))
	if err != nil {
		return Project{}, fmt.Errorf("project %s: %w", id, err)
	}
	return p, nil
}

// ListProjects returns the projects userID is a member of, most recently
// updated first.
func (s *Store) ListProjects(ctx context.Context, userID string) ([]Project, error) {
	rows, err := s.query(ctx, `SELECT `+projectColumns+`
		FROM projects p JOIN project_members m ON m.project_id = p.id
		WHERE m.user_id = ? AND p.deleting_at IS NULL ORDER BY p.updated_at DESC, p.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	defer rows.Close()
	var ps []Project
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, rows.Err()
}

// RenameProject changes a project's name.
func (s *Store) RenameProject(ctx context.Context, id, name string, at time.Time) error {
	return affected(s.exec(ctx, `UPDATE projects SET name = ?, updated_at = ? WHERE id = ?`, name, micros(at), id))
}

// TouchProject marks a project as updated (its files changed).
func (s *Store) TouchProject(ctx context.Context, id string, at time.Time) error {
	return affected(s.exec(ctx, `UPDATE projects SET updated_at = ? WHERE id = ?`, micros(at), id))
}

// MarkProjectDeleting hides a project from everyone while its deletion
// runs. ErrNotFound when it does not exist.
func (s *Store) MarkProjectDeleting(ctx context.Context, id string, at time.Time) error {
	return affected(s.exec(ctx, `UPDATE projects SET deleting_at = COALESCE(deleting_at, ?) WHERE id = ?`, micros(at), id))
}

// ProjectGone reports whether a project no longer exists or is being
// deleted.
func (s *Store) ProjectGone(ctx context.Context, id string) (bool, error) {
	var deleting bool
	err := s.queryRow(ctx, `SELECT deleting_at IS NOT NULL FROM projects WHERE id = ?`, id).Scan(&deleting)
	if errors.Is(err, sql.ErrNoRows) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("project %s: %w", id, err)
	}
	return deleting, nil
}

// ProjectsBeingDeleted lists the projects whose deletion has not finished.
func (s *Store) ProjectsBeingDeleted(ctx context.Context) ([]string, error) {
	return s.queryIDs(ctx, "projects being deleted", `SELECT id FROM projects WHERE deleting_at IS NOT NULL ORDER BY deleting_at, id`)
}

// queryIDs runs a query of one text column and returns its values.
func (s *Store) queryIDs(ctx context.Context, what, query string, args ...any) ([]string, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// DeleteProject deletes a project's rows: the project, its memberships and
// everything recorded for it (checkpoints, documents, agent turns).
func (s *Store) DeleteProject(ctx context.Context, id string) error {
	return affected(s.exec(ctx, `DELETE FROM projects WHERE id = ?`, id))
}

// TransferProject makes newOwnerID the owner of a project; the previous
// owner stays a member as an editor. ErrNotFound when the project does not
// exist (or is being deleted).
func (s *Store) TransferProject(ctx context.Context, id, newOwnerID string, at time.Time) error {
	return s.InTx(ctx, func(tx *Store) error {
		var oldOwner string
		err := tx.queryRow(ctx, `SELECT owner_id FROM projects WHERE id = ? AND deleting_at IS NULL`, id).Scan(&oldOwner)
		if err != nil {
			return fmt.Errorf("project %s: %w", id, mapErr(err))
		}
		if oldOwner == newOwnerID {
			return nil
		}
		if _, err := tx.exec(ctx, `UPDATE projects SET owner_id = ?, updated_at = ? WHERE id = ?`, newOwnerID, micros(at), id); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `UPDATE project_members SET role = ? WHERE project_id = ? AND user_id = ?`, RoleEditor, id, oldOwner); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `DELETE FROM project_members WHERE project_id = ? AND user_id = ?`, id, newOwnerID); err != nil {
			return err
		}
		_, err = tx.exec(ctx, `INSERT INTO project_members (project_id, user_id, role, created_at) VALUES (?, ?, ?, ?)`,
			id, newOwnerID, RoleOwner, micros(at))
		return err
	})
}

// Member is a user's membership in a project.
type Member struct {
	ProjectID string
	UserID    string
	Email     string
	Name      string
	Role      Role
	CreatedAt time.Time
}

const memberColumns = `m.project_id, m.user_id, u.email, u.name, m.role, m.created_at`

func scanMember(sc interface{ Scan(...any) error }) (Member, error) {
	var m Member
	var c int64
	err := sc.Scan(&m.ProjectID, &m.UserID, &m.Email, &m.Name, &m.Role, &c)
	m.CreatedAt = fromMicros(c)
	return m, mapErr(err)
}

// ListMembers returns a project's members, owner first.
func (s *Store) ListMembers(ctx context.Context, projectID string) ([]Member, error) {
	rows, err := s.query(ctx, `SELECT `+memberColumns+` FROM project_members m JOIN users u ON u.id = m.user_id
		WHERE m.project_id = ? ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'editor' THEN 1 ELSE 2 END, u.email`, projectID)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	defer rows.Close()
	var ms []Member
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	return ms, rows.Err()
}

// MemberOf returns one membership.
func (s *Store) MemberOf(ctx context.Context, projectID, userID string) (Member, error) {
	m, err := scanMember(s.queryRow(ctx, `SELECT `+memberColumns+` FROM project_members m JOIN users u ON u.id = m.user_id
		WHERE m.project_id = ? AND m.user_id = ?`, projectID, userID))
	if err != nil {
		return Member{}, fmt.Errorf("member: %w", err)
	}
	return m, nil
}

// AddMember adds userID to a project; an existing membership gives ErrConflict.
func (s *Store) AddMember(ctx context.Context, projectID, userID string, role Role, at time.Time) error {
	_, err := s.exec(ctx, `INSERT INTO project_members (project_id, user_id, role, created_at) VALUES (?, ?, ?, ?)`,
		projectID, userID, role, micros(at))
	if err != nil {
		return fmt.Errorf("add member: %w", err)
	}
	return nil
}

// SetMemberRole changes a non-owner member's role.
func (s *Store) SetMemberRole(ctx context.Context, projectID, userID string, role Role) error {
	return affected(s.exec(ctx, `UPDATE project_members SET role = ? WHERE project_id = ? AND user_id = ? AND role <> 'owner'`,
		role, projectID, userID))
}

// RemoveMember removes a non-owner member.
func (s *Store) RemoveMember(ctx context.Context, projectID, userID string) error {
	return affected(s.exec(ctx, `DELETE FROM project_members WHERE project_id = ? AND user_id = ? AND role <> 'owner'`,
		projectID, userID))
}
