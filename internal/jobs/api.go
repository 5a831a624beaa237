package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"ecode/internal/store"
)

// Opts adjust one enqueued job; the zero value is a plain job.
type Opts struct {
	// Unique: while a job of the same kind and arguments is waiting or
	// running, enqueueing another does nothing.
	Unique bool
	// MaxAttempts overrides the default of 10.
	MaxAttempts int
	// At delays the job until then.
	At time.Time
}

func (o *Opts) river() *river.InsertOpts {
	if o == nil {
		return nil
	}
	ro := &river.InsertOpts{MaxAttempts: o.MaxAttempts, ScheduledAt: o.At}
	if o.Unique {
		ro.UniqueOpts = river.UniqueOpts{ByArgs: true}
	}
	return ro
}

// Enqueue adds a job. It reports false when a unique job was already
// waiting or running.
func (c *Client) Enqueue(ctx context.Context, args Args, o *Opts) (bool, error) {
	res, err := c.api.Insert(ctx, args, o.river())
	if err != nil {
		return false, fmt.Errorf("enqueue %s: %w", args.Kind(), err)
	}
	c.wakeWorkers()
	if c.later(o) {
		c.dueChanged()
	}
	return !res.UniqueSkippedAsDuplicate, nil
}

// later reports whether a job enqueued with o falls due later (due.go).
func (c *Client) later(o *Opts) bool { return o != nil && o.At.After(c.now()) }

// EnqueueTx adds a job in tx, a store bound to a transaction (store.InTx):
// the job exists only if the transaction commits. Call Added once it has.
func (c *Client) EnqueueTx(ctx context.Context, tx *store.Store, args Args, o *Opts) (bool, error) {
	if tx.SQLTx() == nil {
		return false, errors.New("enqueue in a transaction: the store is not in one")
	}
	res, err := c.api.InsertTx(ctx, tx.SQLTx(), args, o.river())
	if err != nil {
		return false, fmt.Errorf("enqueue %s: %w", args.Kind(), err)
	}
	if c.later(o) {
		c.laterTx.Store(true) // Added arms the timer (a job rolled back costs one look)
	}
	return !res.UniqueSkippedAsDuplicate, nil
}

// States are the states a job can be in.
var States = []string{"available", "scheduled", "running", "retryable", "completed", "cancelled", "discarded", "pending"}

// Job is one job as the admin page shows it.
type Job struct {
	ID          string          `json:"id"`
	Kind        string          `json:"kind"`
	State       string          `json:"state"`
	Attempt     int             `json:"attempt"`
	MaxAttempts int             `json:"max_attempts"`
	Args        json.RawMessage `json:"args"`
	Errors      []JobError      `json:"errors"`
	CreatedAt   time.Time       `json:"created_at"`
	ScheduledAt time.Time       `json:"scheduled_at"`
	FinalizedAt *time.Time      `json:"finalized_at,omitempty"`
}

// JobError is one failed attempt.
type JobError struct {
	At      time.Time `json:"at"`
	Attempt int       `json:"attempt"`
	Error   string    `json:"error"`
}

func view(r *rivertype.JobRow) Job {
	j := Job{ID: strconv.FormatInt(r.ID, 10), Kind: r.Kind, State: string(r.State), Attempt: r.Attempt,
		MaxAttempts: r.MaxAttempts, Args: r.EncodedArgs, CreatedAt: r.CreatedAt, ScheduledAt: r.ScheduledAt,
		FinalizedAt: r.FinalizedAt, Errors: []JobError{}}
	for _, e := range r.Errors {
		j.Errors = append(j.Errors, JobError{At: e.At, Attempt: e.Attempt, Error: e.Error})
	}
	return j
}

// List returns up to limit jobs in state (newest first).
func (c *Client) List(ctx context.Context, state string, limit int) ([]Job, error) {
	p := river.NewJobListParams().States(rivertype.JobState(state)).First(limit).
		OrderBy(river.JobListOrderByID, river.SortOrderDesc)
	res, err := c.api.JobList(ctx, p)
	if err != nil {
		return nil, err
	}
	out := []Job{}
	for _, r := range res.Jobs {
		out = append(out, view(r))
	}
	return out, nil
}

// Get returns one job, or store.ErrNotFound.
func (c *Client) Get(ctx context.Context, id string) (Job, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return Job{}, store.ErrNotFound
	}
	r, err := c.api.JobGet(ctx, n)
	if errors.Is(err, river.ErrNotFound) {
		return Job{}, store.ErrNotFound
	}
	if err != nil {
		return Job{}, err
	}
	return view(r), nil
}

// Retry makes a finished or waiting job run again now (a running job is
// left alone).
func (c *Client) Retry(ctx context.Context, id string) (Job, error) {
	return c.act(ctx, id, c.api.JobRetry)
}

// Cancel cancels a job: a waiting job never runs; a running one has its
// context cancelled (on PostgreSQL at once, on SQLite when its node next
// polls) and is not retried.
func (c *Client) Cancel(ctx context.Context, id string) (Job, error) {
	return c.act(ctx, id, c.api.JobCancel)
}

func (c *Client) act(ctx context.Context, id string, fn func(context.Context, int64) (*rivertype.JobRow, error)) (Job, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return Job{}, store.ErrNotFound
	}
	r, err := fn(ctx, n)
	if errors.Is(err, river.ErrNotFound) {
		return Job{}, store.ErrNotFound
	}
	if err != nil {
		return Job{}, err
	}
	return view(r), nil
}

// Counts counts jobs by state.
func (c *Client) Counts(ctx context.Context) (map[string]int64, error) { return c.st.JobCounts(ctx) }

// CancelArgs cancels the unfinished jobs of args' kind whose arguments are
// args (a unique job: at most one), as Cancel does. None is not an error.
func (c *Client) CancelArgs(ctx context.Context, args Args) error {
	want, err := json.Marshal(args)
	if err != nil {
		return err
	}
	p := river.NewJobListParams().Kinds(args.Kind()).First(1000).States(rivertype.JobStateAvailable,
		rivertype.JobStateScheduled, rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStatePending)
	res, err := c.api.JobList(ctx, p)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range res.Jobs {
		if sameJSON(r.EncodedArgs, want) {
			_, err := c.api.JobCancel(ctx, r.ID)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}

// CancelledRemotely reports whether a job's context ended because the job
// was cancelled (Cancel, CancelArgs) rather than because its node stopped.
func CancelledRemotely(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), river.ErrJobCancelledRemotely)
}
