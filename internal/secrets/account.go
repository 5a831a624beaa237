package secrets

import (
	"context"
	"errors"

	"ecode/internal/store"
)

// AccountInfo is an account secret and the projects it is linked into.
type AccountInfo struct {
	Info
	Projects []string `json:"projects"`
}

// ListAccount lists a user's account secrets.
func (s *Service) ListAccount(ctx context.Context, userID string) ([]AccountInfo, error) {
	list, err := s.st.Secrets(ctx, userOwner(userID))
	if err != nil {
		return nil, err
	}
	out := make([]AccountInfo, 0, len(list))
	for _, si := range list {
		ps, err := s.st.SecretLinkedProjects(ctx, userID, si.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, AccountInfo{Info: info(si, "account"), Projects: append([]string{}, ps...)})
	}
	return out, nil
}

// PutAccount sets a user's account secret; projects it is linked into are
// told (a running app restarts with the new value).
func (s *Service) PutAccount(ctx context.Context, userID, name, value string) (bool, error) {
	created, err := s.put(ctx, s.st, userOwner(userID), name, value)
	if err == nil {
		s.linkedChanged(ctx, userID, name)
	}
	return created, err
}

// DeleteAccount removes a user's account secret (links stay, shown as missing).
func (s *Service) DeleteAccount(ctx context.Context, userID, name string) error {
	err := s.remove(ctx, userOwner(userID), name)
	if err == nil {
		s.linkedChanged(ctx, userID, name)
	}
	return err
}

// RevealAccount returns a user's account secret (audited, fail closed).
func (s *Service) RevealAccount(ctx context.Context, userID, name string) (string, error) {
	return s.reveal(ctx, userOwner(userID), name)
}

// AccountAudit lists the audit rows of a user's account secrets.
func (s *Service) AccountAudit(ctx context.Context, userID string) ([]AuditEntry, error) {
	return s.auditOf(ctx, userOwner(userID))
}

func (s *Service) linkedChanged(ctx context.Context, userID, name string) {
	ps, err := s.st.SecretLinkedProjects(ctx, userID, name)
	if err != nil {
		s.log.Warn("secrets: projects linked to a changed account secret", "err", err)
		return
	}
	for _, p := range ps {
		s.changed(ctx, p)
	}
}

// Link makes user's account secret name available in project (the caller
// checked that the user may edit the project).
func (s *Service) Link(ctx context.Context, projectID, userID, name string) error {
	if _, err := s.st.SecretVersion(ctx, userOwner(userID), name); errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	} else if err != nil {
		return err
	}
	err := s.st.InTx(ctx, func(tx *store.Store) error {
		if err := tx.LinkSecret(ctx, projectID, store.SecretLink{UserID: userID, Name: name}, s.now()); err != nil {
			return err
		}
		return s.audit(ctx, tx, projectOwner(projectID), ActionLink, name, "account "+userID)
	})
	if err == nil {
		s.changed(ctx, projectID)
	}
	return err
}

// Unlink removes an account secret's link from a project.
func (s *Service) Unlink(ctx context.Context, projectID, name string) error {
	err := s.st.InTx(ctx, func(tx *store.Store) error {
		if err := tx.UnlinkSecret(ctx, projectID, name); errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		return s.audit(ctx, tx, projectOwner(projectID), ActionUnlink, name, "")
	})
	if err == nil {
		s.changed(ctx, projectID)
	}
	return err
}
