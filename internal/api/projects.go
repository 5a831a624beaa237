package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"ecode/internal/billing"
	"ecode/internal/revoke"
	"ecode/internal/store"
	"ecode/internal/workspace"
)

// Project is the public form of a project, with the caller's role.
type Project struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Template  string     `json:"template"`
	OwnerID   string     `json:"owner_id"`
	Role      store.Role `json:"role"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

func projectJSON(p store.Project) Project {
	return Project{ID: p.ID, Name: p.Name, Template: p.Template, OwnerID: p.OwnerID, Role: p.Role,
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

func (s *Server) templates(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, workspace.Templates())
	return nil
}

func (s *Server) listProjects(w http.ResponseWriter, r *http.Request) error {
	ps, err := s.store.ListProjects(r.Context(), principal(r).User.ID)
	if err != nil {
		return err
	}
	out := make([]Project, 0, len(ps))
	for _, p := range ps {
		out = append(out, projectJSON(p))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type projectRequest struct {
	Name     string `json:"name"`
	Template string `json:"template,omitempty"`
}

func validName(name string) (string, bool) {
	name = strings.TrimSpace(name)
	n := utf8.RuneCountInString(name)
	return name, n >= 1 && n <= 100 && !strings.ContainsAny(name, "\x00\r\n")
}

func (q *projectRequest) validate() map[string]string {
	f := map[string]string{}
	var ok bool
	if q.Name, ok = validName(q.Name); !ok {
		f["name"] = "must be 1 to 100 characters on one line"
	}
	if q.Template == "" {
		q.Template = "blank"
	}
	if !workspace.TemplateExists(q.Template) {
		f["template"] = fmt.Sprintf("unknown template %q", q.Template)
	}
	return f
}

// createProject makes a project from a template (package projects).
func (s *Server) createProject(w http.ResponseWriter, r *http.Request) error {
	var q projectRequest
	if err := decode(w, r, &q); err != nil {
		return err
	}
	if err := s.allow(r, principal(r).User.ID, billing.WorkProject); err != nil {
		return err
	}
	p, err := s.projects.Create(r.Context(), principal(r).User.ID, q.Name, q.Template)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, projectJSON(p))
	return nil
}

func (s *Server) getProject(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, projectJSON(project(r)))
	return nil
}

type renameRequest struct {
	Name string `json:"name"`
}

func (q *renameRequest) validate() map[string]string {
	var ok bool
	if q.Name, ok = validName(q.Name); !ok {
		return map[string]string{"name": "must be 1 to 100 characters on one line"}
	}
	return nil
}

func (s *Server) renameProject(w http.ResponseWriter, r *http.Request) error {
	var q renameRequest
	if err := decode(w, r, &q); err != nil {
		return err
	}
	p := project(r)
	at, err := s.projects.Rename(r.Context(), p.ID, q.Name)
	if err != nil {
		return err
	}
	p.Name, p.UpdatedAt = q.Name, at
	writeJSON(w, http.StatusOK, projectJSON(p))
	return nil
}

// deleteProject deletes the project and ends everything of it (package
// projects); it answers once all is gone.
func (s *Server) deleteProject(w http.ResponseWriter, r *http.Request) error {
	if err := s.projects.Delete(context.WithoutCancel(r.Context()), project(r).ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type transferRequest struct {
	Email string `json:"email"`
}

func (q *transferRequest) validate() map[string]string {
	q.Email = strings.ToLower(strings.TrimSpace(q.Email))
	if q.Email == "" {
		return map[string]string{"email": "required"}
	}
	return nil
}

// transferProject makes another account the owner; the caller stays an
// editor.
func (s *Server) transferProject(w http.ResponseWriter, r *http.Request) error {
	var q transferRequest
	if err := decode(w, r, &q); err != nil {
		return err
	}
	u, err := s.store.UserByEmail(r.Context(), q.Email)
	if errors.Is(err, store.ErrNotFound) {
		return errInvalid(map[string]string{"email": "no account has this email"})
	}
	if err != nil {
		return err
	}
	p := project(r)
	if err := s.projects.Transfer(r.Context(), p, u.ID); err != nil {
		return err
	}
	p.OwnerID, p.Role = u.ID, store.RoleEditor
	if u.ID == principal(r).User.ID {
		p.Role = store.RoleOwner
	}
	writeJSON(w, http.StatusOK, projectJSON(p))
	return nil
}

// Member is the public form of a membership.
type Member struct {
	UserID    string     `json:"user_id"`
	Email     string     `json:"email"`
	Name      string     `json:"name"`
	Role      store.Role `json:"role"`
	CreatedAt time.Time  `json:"created_at"`
}

func memberJSON(m store.Member) Member {
	return Member{UserID: m.UserID, Email: m.Email, Name: m.Name, Role: m.Role, CreatedAt: m.CreatedAt}
}

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request) error {
	ms, err := s.store.ListMembers(r.Context(), project(r).ID)
	if err != nil {
		return err
	}
	out := make([]Member, 0, len(ms))
	for _, m := range ms {
		out = append(out, memberJSON(m))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type memberRequest struct {
	Email string     `json:"email"`
	Role  store.Role `json:"role"`
}

func (q *memberRequest) validate() map[string]string {
	f := map[string]string{}
	q.Email = strings.ToLower(strings.TrimSpace(q.Email))
	if q.Email == "" {
		f["email"] = "required"
	}
	if q.Role != store.RoleEditor && q.Role != store.RoleViewer {
		f["role"] = "must be editor or viewer"
	}
	return f
}

func (s *Server) addMember(w http.ResponseWriter, r *http.Request) error {
	var q memberRequest
	if err := decode(w, r, &q); err != nil {
		return err
	}
	p := project(r)
	u, err := s.store.UserByEmail(r.Context(), q.Email)
	if errors.Is(err, store.ErrNotFound) {
		return errInvalid(map[string]string{"email": "no account has this email; they must sign up first"})
	}
	if err != nil {
		return err
	}
	err = s.store.AddMember(r.Context(), p.ID, u.ID, q.Role, s.now())
	if errors.Is(err, store.ErrConflict) {
		return errConflict(q.Email + " is already a member")
	}
	if err != nil {
		return err
	}
	m, err := s.store.MemberOf(r.Context(), p.ID, u.ID)
	if err != nil {
		return err
	}
	s.notifyMemberAdded(r, p, u.ID, q.Role)
	writeJSON(w, http.StatusCreated, memberJSON(m))
	return nil
}

type roleRequest struct {
	Role store.Role `json:"role"`
}

func (q *roleRequest) validate() map[string]string {
	if q.Role != store.RoleEditor && q.Role != store.RoleViewer {
		return map[string]string{"role": "must be editor or viewer"}
	}
	return nil
}

func (s *Server) setMemberRole(w http.ResponseWriter, r *http.Request) error {
	var q roleRequest
	if err := decode(w, r, &q); err != nil {
		return err
	}
	p, uid := project(r), r.PathValue("uid")
	err := s.store.SetMemberRole(r.Context(), p.ID, uid, q.Role)
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound("member (the owner's role cannot change)")
	}
	if err != nil {
		return err
	}
	s.revoked(r.Context(), revoke.Event{ProjectID: p.ID, UserID: uid, End: true}) // what they have open was authorized for the old role
	m, err := s.store.MemberOf(r.Context(), p.ID, uid)
	if err != nil {
		return err
	}
	s.audit(r, evMemberRole, uid, principal(r).User.ID, "project "+p.ID+": "+string(q.Role))
	writeJSON(w, http.StatusOK, memberJSON(m))
	return nil
}

// removeMember lets the owner remove anyone but themself, and any member
// leave.
func (s *Server) removeMember(w http.ResponseWriter, r *http.Request) error {
	p, uid := project(r), r.PathValue("uid")
	if p.Role != store.RoleOwner && uid != principal(r).User.ID {
		return errForbidden("only the owner may remove other members")
	}
	err := s.store.RemoveMember(r.Context(), p.ID, uid)
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound("member (the owner cannot be removed)")
	}
	if err != nil {
		return err
	}
	s.revoked(r.Context(), revoke.Event{ProjectID: p.ID, UserID: uid, End: true})
	w.WriteHeader(http.StatusNoContent)
	return nil
}
