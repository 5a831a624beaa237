// Package jobs is the server's background job queue: River on the store's
// own database (riverpgxv5 on PostgreSQL, riversqlite on SQLite), so both
// engines run the same queue. A job survives a restart, is retried with
// backoff when it fails, can be unique (enqueued twice, it runs once),
// periodic (a schedule) or cancelled, and can be enqueued in the store
// transaction of the row that needs it (EnqueueTx): if the transaction
// rolls back, the job never existed.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"ecode/internal/store"
)

// Args are a job's arguments: a struct encoded as JSON whose Kind names
// the handler that runs it.
type Args interface{ Kind() string }

// Options configure the queue; Store is required.
type Options struct {
	Store *store.Store
	Log   *slog.Logger
	// Now, when set, is a fake clock River runs on (tests): scheduled
	// jobs, retries, periodic jobs and the rescue of jobs whose process
	// died all follow it.
	Now func() time.Time
	// AfterFunc, with Now, arms a timer on that clock: f runs once it
	// has moved d on; stop disarms it. Default: time.AfterFunc (on Now's
	// time, a fake clock's timers then run on real time).
	AfterFunc func(d time.Duration, f func()) (stop func() bool)
	// Workers is how many jobs run at once (default 4).
	Workers int
	// Poll is how often a node looks for new jobs it was not told of
	// (default 5s): enqueuing a job wakes the workers at once (wake.go),
	// this is the fallback (and when scheduled jobs and retries fall due).
	Poll time.Duration
	// Timeout is the longest a job may run (default 30 min); RescueAfter,
	// how long a job may stay running before it is taken to be orphaned by
	// a dead process and retried (default Timeout + 5 min).
	Timeout, RescueAfter time.Duration
	// Observe, when set, is told of each finished attempt (metrics): the
	// kind, the state it ended in, the time it waited and ran.
	Observe func(kind, state string, wait, run time.Duration)
	// Tracer makes a span of every attempt, continuing the trace of the
	// request that enqueued the job (nil: no spans).
	Tracer trace.TracerProvider
}

// worker is what both engines' working clients do.
type worker interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	Subscribe(kinds ...river.EventKind) (<-chan *river.Event, func())
	PeriodicJobs() *river.PeriodicJobBundle
}

// Client is the queue: it enqueues, lists, retries and cancels jobs on any
// node, and (Run) works them.
type Client struct {
	o       Options
	api     *river.Client[*sql.Tx] // inserts (in store transactions) and admin
	work    worker                 // works jobs (SQLite: api itself)
	workers *river.Workers
	pool    *pgxpool.Pool
	st      *store.Store
	local   *localListener // SQLite: wakes the workers in process
	due     *dueTimer      // wakes the workers when jobs fall due (due.go)
	laterTx atomic.Bool    // EnqueueTx enqueued a job due later: Added arms the timer
}

// Migrate creates or updates the queue's tables (River's own migrations)
// in the store's database. It is idempotent.
func Migrate(ctx context.Context, st *store.Store) error {
	var err error
	if st.Engine() == store.Postgres {
		var m *rivermigrate.Migrator[*sql.Tx]
		if m, err = rivermigrate.New(riverdatabasesql.New(st.SQLDB()), nil); err == nil {
			_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		}
	} else {
		var m *rivermigrate.Migrator[*sql.Tx]
		if m, err = rivermigrate.New(riversqlite.New(st.SQLDB()), nil); err == nil {
			_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		}
	}
	if err != nil {
		return fmt.Errorf("migrate job queue: %w", err)
	}
	return nil
}

// New makes the queue on a migrated store (see Migrate). Handlers are
// added with Handle and schedules with Every before Run.
func New(ctx context.Context, o Options) (*Client, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	o.Workers = max(o.Workers, 4)
	if o.Tracer == nil {
		o.Tracer = noop.NewTracerProvider()
	}
	if o.Poll <= 0 {
		o.Poll = 5 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Minute
	}
	if o.RescueAfter <= 0 {
		o.RescueAfter = o.Timeout + 5*time.Minute
	}
	c := &Client{o: o, workers: river.NewWorkers(), st: o.Store}
	c.due = newDueTimer(c)
	cfg := c.config()
	var err error
	if o.Store.Engine() == store.Postgres {
		if c.api, err = river.NewClient(riverdatabasesql.New(o.Store.SQLDB()), c.config()); err != nil {
			return nil, err
		}
		if c.pool, err = newPool(ctx, o.Store); err != nil {
			return nil, err
		}
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: o.Workers}}
		if c.work, err = river.NewClient(riverpgxv5.New(c.pool), cfg); err != nil {
			c.pool.Close()
			return nil, err
		}
		return c, nil
	}
	cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: o.Workers}}
	drv := newSQLiteDriver(o.Store.SQLDB())
	client, err := river.NewClient[*sql.Tx](drv, cfg)
	if err != nil {
		return nil, err
	}
	c.api, c.work, c.local = client, client, drv.l
	return c, nil
}

func (c *Client) config() *river.Config {
	cfg := &river.Config{
		Workers:              c.workers,
		Logger:               c.o.Log.With("component", "jobs"),
		FetchPollInterval:    c.o.Poll,
		FetchCooldown:        min(c.o.Poll, 100*time.Millisecond),
		JobTimeout:           c.o.Timeout,
		RescueStuckJobsAfter: c.o.RescueAfter,
		RetryPolicy:          backoff{now: c.now},
		MaxAttempts:          10,
		Middleware:           []rivertype.Middleware{&tracingMiddleware{tracer: c.o.Tracer.Tracer("ecode")}},
	}
	if c.o.Now != nil {
		cfg.Test.Time = fakeTime(c.o.Now)
	}
	return cfg
}

func newPool(ctx context.Context, st *store.Store) (*pgxpool.Pool, error) {
	conn, err := st.PgxConfig(ctx)
	if err != nil {
		return nil, err
	}
	pc, err := pgxpool.ParseConfig("")
	if err != nil {
		return nil, err
	}
	pc.ConnConfig = conn
	// The copied configuration delivers notifications to the connection
	// it was copied from (pgx sets its own handler when there is none):
	// without this, the workers' LISTEN connection receives a NOTIFY and
	// finds nothing in its own buffer.
	pc.ConnConfig.OnNotification = nil
	pc.MaxConns = 10
	return pgxpool.NewWithConfig(ctx, pc)
}

func (c *Client) afterFunc(d time.Duration, f func()) func() bool {
	if c.o.AfterFunc != nil {
		return c.o.AfterFunc(d, f)
	}
	return time.AfterFunc(d, f).Stop
}

func (c *Client) now() time.Time {
	if c.o.Now != nil {
		return c.o.Now()
	}
	return time.Now()
}

// Run works jobs until ctx ends, then waits up to 10 s for running jobs
// to finish and cancels the rest (they are retried later).
func (c *Client) Run(ctx context.Context) error {
	events, cancel := c.work.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed,
		river.EventKindJobCancelled, river.EventKindJobSnoozed)
	defer cancel()
	if err := c.work.Start(ctx); err != nil {
		return fmt.Errorf("start job queue: %w", err)
	}
	defer c.due.end()
	if c.pool != nil {
		listenCtx, stopListening := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); c.listenDue(listenCtx) }() // and it looks at start
		defer func() { stopListening(); <-done }()
	} else {
		c.due.refresh(ctx)
	}
	for {
		select {
		case ev := <-events:
			if ev == nil || ev.Job == nil {
				continue
			}
			c.finished(ev.Job)
			if c.o.Observe != nil && ev.JobStats != nil {
				c.o.Observe(ev.Job.Kind, string(ev.Job.State), ev.JobStats.QueueWaitDuration, ev.JobStats.RunDuration)
			}
		case <-ctx.Done():
			stopCtx, done := context.WithTimeout(context.Background(), 10*time.Second)
			defer done()
			if err := c.work.Stop(stopCtx); err != nil {
				cancelCtx, done := context.WithTimeout(context.Background(), 5*time.Second)
				defer done()
				return errors.Join(err, c.work.StopAndCancel(cancelCtx))
			}
			return nil
		}
	}
}

// Close releases the PostgreSQL workers' pool (after Run has returned).
func (c *Client) Close() error {
	if c.pool != nil {
		c.pool.Close()
	}
	return nil
}

// Handle registers fn as the handler of jobs of T's kind. An error (or
// panic) fails the attempt: the job is retried with backoff until its
// attempts run out. attempt counts from 1.
func Handle[T Args](c *Client, fn func(ctx context.Context, args T, attempt int) error) {
	river.AddWorker(c.workers, river.WorkFunc(func(ctx context.Context, j *river.Job[T]) error {
		return fn(ctx, j.Args, j.Attempt)
	}))
}

// Every schedules a job of args every interval on the cluster (the leader
// node enqueues it), first at start when runOnStart. id names the
// schedule (unique).
func (c *Client) Every(id string, interval time.Duration, args Args, runOnStart bool) {
	c.work.PeriodicJobs().Add(river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) {
			return args, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: interval}}
		}, &river.PeriodicJobOpts{ID: id, RunOnStart: runOnStart}))
}

// Wake makes the scheduler look at the clock again: after a fake clock
// (Options.Now) moved, periodic jobs now due are enqueued at once.
func (c *Client) Wake() {
	h := c.work.PeriodicJobs().Add(river.NewPeriodicJob(river.PeriodicInterval(24*365*time.Hour),
		func() (river.JobArgs, *river.InsertOpts) { return nil, nil }, nil))
	c.work.PeriodicJobs().Remove(h)
}

// backoff retries after 2^attempt seconds, at most an hour, on the
// queue's clock.
type backoff struct{ now func() time.Time }

func (b backoff) NextRetry(job *rivertype.JobRow) time.Time {
	secs := math.Min(math.Pow(2, float64(job.Attempt)), 3600)
	return b.now().Add(time.Duration(secs) * time.Second)
}

// fakeTime is River's clock stubbed with a fake one.
type fakeTime func() time.Time

func (f fakeTime) Now() time.Time { return f() }

func (f fakeTime) NowOrNil() *time.Time {
	t := f().UTC()
	return &t
}
