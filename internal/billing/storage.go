package billing

import (
	"context"
	"errors"
	"sort"

	"ecode/internal/store"
)

// StorageJob is the daily job that samples each project's storage into
// the ledger (the queue runs it once a day and at start).
type StorageJob struct{}

// Kind names the job.
func (StorageJob) Kind() string { return "storage_sample" }

// StorageProbe measures the bytes a project stores: its files (or
// volume), the checkpoint objects it added, its database.
type StorageProbe func(ctx context.Context, projectID string) (int64, error)

// SampleStorage records today's storage sample of every live project: one
// storage entry of its bytes (a byte-day, priced a thirtieth of the
// GB-month price), with the idempotency key storage:<project>:<day>, so a
// day is sampled once however often the job runs. A project the probe
// cannot measure is skipped (and sampled at the next run of the day);
// the error says which failed. It returns how many samples it recorded.
func (s *Service) SampleStorage(ctx context.Context, probe StorageProbe) (int, error) {
	owners, err := s.st.ProjectOwners(ctx)
	if err != nil {
		return 0, err
	}
	pb, err := s.PriceBook(ctx)
	if err != nil {
		return 0, err
	}
	ids := make([]string, 0, len(owners))
	for id := range owners {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	now := s.opts.Now()
	today := day(now)
	var errs []error
	recorded := 0
	for _, id := range ids {
		bytes, err := probe(ctx, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if bytes <= 0 {
			continue
		}
		n, err := s.append(ctx, []store.LedgerEntry{{ID: newID(), IdempotencyKey: "storage:" + id + ":" + today, AccountID: owners[id],
			ProjectID: id, Meter: MeterStorage, Quantity: bytes, Unit: Units[MeterStorage],
			AmountMicros: pb.amount(MeterStorage, bytes), Day: today, CreatedAt: now}})
		if err != nil {
			return recorded, err
		}
		recorded += n
	}
	return recorded, errors.Join(errs...)
}
