package agentrun

import (
	"context"
	"log/slog"

	"ecode/internal/secrets"
)

// redactor masks the project's secret values (package secrets' matcher);
// when they cannot be loaded it hides the whole text rather than risk one.
type redactor struct {
	svc       *secrets.Service
	projectID string
	log       *slog.Logger
}

const hiddenText = "[output hidden: the project's secrets could not be loaded to mask them]"

func (r redactor) Redact(s string) string {
	if s == "" {
		return s
	}
	m, err := r.svc.Matcher(context.Background(), r.projectID)
	if err != nil {
		r.log.Error("agent: load secrets to mask output", "project_id", r.projectID, "err", err)
		return hiddenText
	}
	return m.String(s)
}

// secretNames is agent.Secrets: the names the project's processes get.
type secretNames struct {
	svc       *secrets.Service
	projectID string
}

func (n secretNames) SecretNames(ctx context.Context) ([]string, error) {
	return n.svc.Names(ctx, n.projectID)
}

// redact masks the project's secrets in s (identity without the service).
func (s *Service) redact(projectID, text string) string {
	if s.d.ProjectSecrets == nil {
		return text
	}
	return redactor{svc: s.d.ProjectSecrets, projectID: projectID, log: s.d.Log}.Redact(text)
}

func (s *Service) redactFunc(projectID string) func(string) string {
	return func(text string) string { return s.redact(projectID, text) }
}
