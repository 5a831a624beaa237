package api

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"ecode/internal/auth"
	"ecode/internal/secrets"
)

// secretRoutes are the project and account secrets (DESIGN.md section 5).
func (s *Server) secretRoutes() []route {
	return []route{
		{"GET /api/projects/{id}/secrets", ProjViewer, s.listSecrets},
		{"PUT /api/projects/{id}/secrets/{name}", ProjEditor, s.putSecret},
		{"DELETE /api/projects/{id}/secrets/{name}", ProjEditor, s.deleteSecret},
		{"POST /api/projects/{id}/secrets/{name}/reveal", ProjEditor, s.revealSecret},
		{"POST /api/projects/{id}/secrets/import", ProjEditor, s.importSecrets},
		{"PUT /api/projects/{id}/secrets/links/{name}", ProjEditor, s.linkSecret},
		{"DELETE /api/projects/{id}/secrets/links/{name}", ProjEditor, s.unlinkSecret},
		{"GET /api/projects/{id}/secrets/audit", ProjOwner, s.secretAudit},
		{"GET /api/projects/{id}/secrets/audit/export", ProjOwner, s.secretAuditExport},
		{"GET /api/me/secrets", Signed, s.listAccountSecrets},
		{"PUT /api/me/secrets/{name}", Signed, s.putAccountSecret},
		{"DELETE /api/me/secrets/{name}", Signed, s.deleteAccountSecret},
		{"POST /api/me/secrets/{name}/reveal", Signed, s.revealAccountSecret},
		{"GET /api/me/secrets/audit", Signed, s.accountSecretAudit},
	}
}

// secretActor is who calls (p, from the address client), for the secrets'
// audit log.
func secretActor(client string, p auth.Principal) secrets.Actor {
	a := secrets.Actor{UserID: p.User.ID, Name: p.User.Email, Client: client}
	switch {
	case p.SessionID != "":
		a.Via = "session:" + p.SessionID
	case p.TokenID != "":
		a.Via = "token:" + p.TokenID
	}
	return a
}

// secretErr maps the service's errors to answers.
func secretErr(err error) error {
	if err == nil {
		return nil
	}
	var ne *secrets.NameError
	switch {
	case errors.As(err, &ne):
		return errInvalid(map[string]string{"name": ne.Msg})
	case errors.Is(err, secrets.ErrNotFound):
		return errNotFound("secret")
	case errors.Is(err, secrets.ErrDecrypt), errors.Is(err, secrets.ErrUnknownKey):
		return &Error{Status: http.StatusInternalServerError, Code: "secret_unreadable",
			Message: "the stored secret cannot be decrypted (it was changed, or the server has another master key); set it again"}
	}
	return err
}

type secretValue struct {
	Value string `json:"value"`
}

func (q *secretValue) validate() map[string]string {
	if err := secrets.CheckValue(q.Value); err != nil {
		return map[string]string{"value": err.Error()}
	}
	return nil
}

func (s *Server) listSecrets(w http.ResponseWriter, r *http.Request) error {
	list, err := s.secrets.List(r.Context(), project(r).ID)
	if err != nil {
		return err
	}
	if list == nil {
		list = []secrets.Info{}
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

// maskWarning tells the user a value is too short to be masked in output.
func maskWarning(v string) string {
	if len(v) < secrets.MinMaskBytes {
		return "values shorter than " + strconv.Itoa(secrets.MinMaskBytes) + " bytes are not masked in output"
	}
	return ""
}

func (s *Server) putSecret(w http.ResponseWriter, r *http.Request) error {
	var q secretValue
	if err := decode(w, r, &q); err != nil {
		return err
	}
	name := r.PathValue("name")
	created, err := s.secrets.Put(r.Context(), project(r).ID, name, q.Value)
	return writeSecretPut(w, name, q.Value, created, err)
}

// writeSecretPut answers a PUT of a secret: 201 when it was new, 200 when
// it got a new version, with a warning when the value is too short to mask.
func writeSecretPut(w http.ResponseWriter, name, value string, created bool, err error) error {
	if err != nil {
		return secretErr(err)
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, map[string]any{"name": name, "created": created, "warning": maskWarning(value)})
	return nil
}

func (s *Server) deleteSecret(w http.ResponseWriter, r *http.Request) error {
	if err := s.secrets.Delete(r.Context(), project(r).ID, r.PathValue("name")); err != nil {
		return secretErr(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) revealSecret(w http.ResponseWriter, r *http.Request) error {
	v, err := s.secrets.Reveal(r.Context(), project(r).ID, r.PathValue("name"))
	if err != nil {
		return secretErr(err)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, secretValue{Value: v})
	return nil
}

type importRequest struct {
	Env string `json:"env"`
}

func (q *importRequest) validate() map[string]string {
	if q.Env == "" {
		return map[string]string{"env": "paste NAME=value lines"}
	}
	return nil
}

func (s *Server) importSecrets(w http.ResponseWriter, r *http.Request) error {
	var q importRequest
	if err := decode(w, r, &q); err != nil {
		return err
	}
	names, err := s.secrets.Import(r.Context(), project(r).ID, q.Env)
	var ne *secrets.NameError
	if errors.As(err, &ne) {
		return errInvalid(map[string]string{"env": ne.Msg})
	}
	if err != nil {
		return secretErr(err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"names": names})
	return nil
}

// linkSecret links the caller's own account secret {name} into the project.
func (s *Server) linkSecret(w http.ResponseWriter, r *http.Request) error {
	if err := s.secrets.Link(r.Context(), project(r).ID, principal(r).User.ID, r.PathValue("name")); err != nil {
		if errors.Is(err, secrets.ErrNotFound) {
			return errNotFound("account secret")
		}
		return secretErr(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) unlinkSecret(w http.ResponseWriter, r *http.Request) error {
	if err := s.secrets.Unlink(r.Context(), project(r).ID, r.PathValue("name")); err != nil {
		return secretErr(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) secretAudit(w http.ResponseWriter, r *http.Request) error {
	list, err := s.secrets.Audit(r.Context(), project(r).ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

// secretAuditExport downloads the project's audit log as CSV.
func (s *Server) secretAuditExport(w http.ResponseWriter, r *http.Request) error {
	list, err := s.secrets.Audit(r.Context(), project(r).ID)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="secrets-audit-`+project(r).ID+`.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"seq", "at", "action", "name", "actor", "actor_id", "via", "client", "detail", "hash"})
	for _, e := range list {
		cw.Write([]string{strconv.FormatInt(e.Seq, 10), e.At.Format(time.RFC3339Nano), e.Action, e.Name, e.Actor, e.ActorID,
			e.Via, e.Client, e.Detail, e.Hash})
	}
	cw.Flush()
	return nil
}

func (s *Server) listAccountSecrets(w http.ResponseWriter, r *http.Request) error {
	list, err := s.secrets.ListAccount(r.Context(), principal(r).User.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) putAccountSecret(w http.ResponseWriter, r *http.Request) error {
	var q secretValue
	if err := decode(w, r, &q); err != nil {
		return err
	}
	name := r.PathValue("name")
	created, err := s.secrets.PutAccount(r.Context(), principal(r).User.ID, name, q.Value)
	return writeSecretPut(w, name, q.Value, created, err)
}

func (s *Server) deleteAccountSecret(w http.ResponseWriter, r *http.Request) error {
	if err := s.secrets.DeleteAccount(r.Context(), principal(r).User.ID, r.PathValue("name")); err != nil {
		return secretErr(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) revealAccountSecret(w http.ResponseWriter, r *http.Request) error {
	v, err := s.secrets.RevealAccount(r.Context(), principal(r).User.ID, r.PathValue("name"))
	if err != nil {
		return secretErr(err)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, secretValue{Value: v})
	return nil
}

func (s *Server) accountSecretAudit(w http.ResponseWriter, r *http.Request) error {
	list, err := s.secrets.AccountAudit(r.Context(), principal(r).User.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

// restoreSecretSet makes the project's secrets the set checkpoint {cid}
// recorded (names and versions; the values were never in the checkpoint).
func (s *Server) restoreSecretSet(r *http.Request) error {
	rec, err := s.store.Checkpoint(r.Context(), project(r).ID, r.PathValue("cid"))
	if err != nil {
		return err
	}
	var env struct {
		Secrets []secrets.NameVersion `json:"secrets"`
	}
	if len(rec.Env) > 0 {
		if err := json.Unmarshal(rec.Env, &env); err != nil {
			return fmt.Errorf("checkpoint %s environment: %w", rec.ID, err)
		}
	}
	return secretErr(s.secrets.RestoreSet(r.Context(), project(r).ID, env.Secrets))
}
