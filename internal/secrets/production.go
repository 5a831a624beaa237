package secrets

import (
	"context"

	"ecode/internal/store"
)

func productionOwner(id string) store.SecretOwner {
	return store.SecretOwner{Scope: store.ScopeProduction, ID: id}
}

// ListProduction lists a project's production secrets: the values its
// deployment gets instead of the project's (development) ones.
func (s *Service) ListProduction(ctx context.Context, projectID string) ([]Info, error) {
	list, err := s.st.Secrets(ctx, productionOwner(projectID))
	if err != nil {
		return nil, err
	}
	out := make([]Info, 0, len(list))
	for _, si := range list {
		out = append(out, info(si, store.ScopeProduction))
	}
	return out, nil
}

// PutProduction sets a production secret (a new version when it exists).
// The deployment's next build or instance gets it; the development
// workspace never does.
func (s *Service) PutProduction(ctx context.Context, projectID, name, value string) (created bool, err error) {
	return s.put(ctx, s.st, productionOwner(projectID), name, value)
}

// DeleteProduction removes a production secret: the deployment falls back
// to the project's value of that name, if any.
func (s *Service) DeleteProduction(ctx context.Context, projectID, name string) error {
	return s.remove(ctx, productionOwner(projectID), name)
}

// RevealProduction returns a production secret's value (audited, fail closed).
func (s *Service) RevealProduction(ctx context.Context, projectID, name string) (string, error) {
	return s.reveal(ctx, productionOwner(projectID), name)
}

// ProductionAudit lists the audit rows of a project's production secrets.
func (s *Service) ProductionAudit(ctx context.Context, projectID string) ([]AuditEntry, error) {
	return s.auditOf(ctx, productionOwner(projectID))
}
