package history

import (
	"context"
	"encoding/json"
	"fmt"
)

// Checkpoints count against their project's disk: each records the bytes
// it added to the object store (Metrics.StoredBytes), and a new one is
// refused while the project's disk size plus its checkpoints' bytes exceed
// the allowance (CheckpointQuota). The checkpoint a restore takes of the
// present is exempt, so a project over its allowance can still roll back.

// QuotaError refuses a checkpoint over the project's allowance (507).
type QuotaError struct {
	Used, Allowance int64
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("this project's checkpoints take %.1f MiB, and with its disk that is over its allowance of %.1f MiB: older checkpoints free their space as they expire",
		float64(e.Used)/(1<<20), float64(e.Allowance)/(1<<20))
}

// InsufficientStorage marks the error for the API (507 disk_full).
func (e *QuotaError) InsufficientStorage() bool { return true }

// Space sets the disk limits of checkpoints: check refuses new work when
// the server's disk is low (nil: no check); a project's checkpoints may
// take allowance minus projectDisk bytes (allowance 0: no limit).
func (s *Service) Space(check func() error, projectDisk, allowance int64) {
	s.spaceCheck, s.projectDisk, s.allowance = check, projectDisk, allowance
}

// admit refuses a checkpoint the disk or the project's allowance cannot
// take.
func (s *Service) admit(ctx context.Context, projectID, trigger string) error {
	if s.spaceCheck != nil {
		if err := s.spaceCheck(); err != nil {
			return err
		}
	}
	if s.allowance <= 0 || trigger == "restore" {
		return nil
	}
	used, err := s.CheckpointBytes(ctx, projectID)
	if err != nil {
		return err
	}
	if s.projectDisk+used > s.allowance {
		return &QuotaError{Used: used, Allowance: s.allowance}
	}
	return nil
}

// CheckpointBytes is what the project's kept checkpoints added to the
// object store.
func (s *Service) CheckpointBytes(ctx context.Context, projectID string) (int64, error) {
	cs, err := s.store.ListCheckpoints(ctx, projectID, 100_000)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, c := range cs {
		var m struct {
			StoredBytes int64 `json:"stored_bytes"`
		}
		if len(c.Metrics) > 0 && json.Unmarshal(c.Metrics, &m) == nil {
			n += m.StoredBytes
		}
	}
	return n, nil
}
