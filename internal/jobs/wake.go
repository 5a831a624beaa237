package jobs

import (
	"context"
	"database/sql"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riversqlite"
)

// Waking the workers: a node does not look for new jobs on a short timer
// (Options.Poll is only the fallback) but when one is enqueued. On
// PostgreSQL the insert sends NOTIFY in its transaction and every node's
// workers LISTEN (River's own notifier), so a job enqueued on one node
// wakes them all when it commits. SQLite has no LISTEN/NOTIFY (and
// riversqlite's stand-in polls a table every 50 ms); there is one node,
// so the queue's own enqueue wakes its workers in process (localListener).

// insertTopic and insertPayload are what River's producers listen for: a
// job is available in the default queue.
const (
	insertTopic   = "river_insert"
	insertPayload = `{"queue":"default"}`
)

// sqliteDriver is riversqlite's driver whose listener is in process.
type sqliteDriver struct {
	*riversqlite.Driver
	l *localListener
}

func newSQLiteDriver(db *sql.DB) sqliteDriver {
	return sqliteDriver{Driver: riversqlite.New(db), l: &localListener{wake: make(chan struct{}, 1)}}
}

func (d sqliteDriver) GetListener(*riverdriver.GetListenenerParams) riverdriver.Listener { return d.l }
func (d sqliteDriver) SupportsListener() bool                                            { return true }

// localListener hands River's notifier one insert notification per wake
// (wakes while one is pending merge: one fetch finds every new job).
type localListener struct{ wake chan struct{} }

func (l *localListener) added() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *localListener) Close(context.Context) error          { return nil }
func (l *localListener) Connect(context.Context) error        { return nil }
func (l *localListener) Listen(context.Context, string) error { return nil }
func (l *localListener) Ping(context.Context) error           { return nil }
func (l *localListener) Schema() string                       { return "" }
func (l *localListener) SetAfterConnectExec(string)           {}
func (l *localListener) Unlisten(context.Context, string) error {
	return nil
}

func (l *localListener) WaitForNotification(ctx context.Context) (*riverdriver.Notification, error) {
	select {
	case <-l.wake:
		return &riverdriver.Notification{Topic: insertTopic, Payload: insertPayload}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Added wakes the workers after jobs were enqueued (Enqueue calls it;
// after EnqueueTx, call it once the transaction committed), and arms the
// timer again when one of them is due later (due.go). On SQLite
// nothing else tells them. On PostgreSQL the insert's own NOTIFY is
// skipped when the client sent one less than its fetch cooldown ago (River
// limits them per queue), which would leave the job to the fallback poll:
// Added sends one of its own (on the channel River listens on: the
// schema, a dot, the topic), which wakes every node's workers.
func (c *Client) Added() {
	c.wakeWorkers()
	if c.laterTx.Swap(false) {
		c.dueChanged()
	}
}

func (c *Client) wakeWorkers() {
	if c.local != nil {
		c.local.added()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.o.Store.SQLDB().ExecContext(ctx, `SELECT pg_notify(current_schema() || '.' || $1, $2)`, insertTopic, insertPayload); err != nil {
		c.o.Log.Warn("wake the job workers", "err", err) // they look at the next poll
	}
}
