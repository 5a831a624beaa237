package history

import (
	"context"

	"ecode/internal/checkpoint"
)

// secretSet is the project's secret names and versions a checkpoint
// records (never values); nil without the SecretSet hook.
func (s *Service) secretSet(ctx context.Context, projectID string) []checkpoint.SecretRef {
	if s.SecretSet == nil {
		return nil
	}
	set, err := s.SecretSet(ctx, projectID)
	if err != nil {
		return nil // a checkpoint without its secret set beats no checkpoint
	}
	return set
}
