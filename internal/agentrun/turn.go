package agentrun

import (
	"context"
	"sync"

	"ecode/internal/agent"
	"ecode/internal/billing"
)

// Turn is one running (or just finished) agent turn. Its events are kept in
// memory for watchers while it runs; the store has them all.
type Turn struct {
	ID        string
	ProjectID string

	cancel context.CancelFunc

	quote   *billing.Quote // nil without billing
	model   string
	charged int64 // micro-units, set once the turn is charged

	mu     sync.Mutex
	evs    []agent.Event
	notify chan struct{}
	ended  bool // the agent returned (events complete)
	res    *agent.Result
	err    error
	done   chan struct{} // closed when the turn is recorded
}

func newTurn(id, projectID string) *Turn {
	return &Turn{ID: id, ProjectID: projectID, cancel: func() {}, notify: make(chan struct{}), done: make(chan struct{})}
}

func (t *Turn) emit(e agent.Event) {
	t.mu.Lock()
	t.evs = append(t.evs, e)
	close(t.notify)
	t.notify = make(chan struct{})
	t.mu.Unlock()
}

func (t *Turn) finish(res *agent.Result, err error) {
	t.mu.Lock()
	t.res, t.err, t.ended = res, err, true
	close(t.notify)
	t.notify = make(chan struct{})
	t.mu.Unlock()
}

func (t *Turn) close() { close(t.done) }

// events returns the events from index from on, a channel closed when more
// arrive, and whether the agent has returned.
func (t *Turn) events(from int) ([]agent.Event, <-chan struct{}, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []agent.Event
	if from < len(t.evs) {
		out = append(out, t.evs[from:]...)
	}
	return out, t.notify, t.ended
}

// Events is events for watchers: the events from index from on, a channel
// closed when more arrive, and whether no more will.
func (t *Turn) Events(from int) ([]agent.Event, <-chan struct{}, bool) { return t.events(from) }

// Done is closed when the turn has ended and been recorded.
func (t *Turn) Done() <-chan struct{} { return t.done }

// Result is the turn's outcome (valid after Done).
func (t *Turn) Result() (*agent.Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.res, t.err
}

// Stop cancels the turn.
func (t *Turn) Stop() { t.cancel() }
