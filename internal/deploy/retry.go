package deploy

import (
	"context"
	"errors"
	"net/http"
	"syscall"
	"time"
)

// A request the app could not take because its instance had just crashed
// is tried once more rather than answered 502: on another healthy
// instance of the group, or, with none, on the same one once its
// supervisor has started it again (bounded by retryWait, waiting on the
// service's change notifications). Only requests without a body (the
// transport closes it) are, and only when sending again is safe: the
// connection was refused (nothing reached the app), or it was reset on a
// GET or HEAD (then only on another instance: a request that crashed the
// app is not sent to it again).

// retryWait bounds how long a request waits for a crashed instance's restart.
const retryWait = 10 * time.Second

// dialError is a failure to connect to the app: the request was not sent.
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// retriedKey marks a request's context once it was retried.
type retriedKey struct{}

// proxyError is the proxy's ErrorHandler: called before any byte of a
// response was written, it retries the request once when that is safe,
// else answers 502.
func (i *instance) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Value(retriedKey{}) == nil {
		if next := i.s.retryTarget(r, i, err); next != nil {
			defer next.done()
			next.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), retriedKey{}, true)))
			return
		}
	}
	appPage(w, http.StatusBadGateway, "The app did not answer", "It may be restarting; try again in a moment.")
}

// retryTarget returns the instance to send the failed request to again,
// with the request counted on it, or nil when it must not be retried.
func (s *Service) retryTarget(r *http.Request, failed *instance, err error) *instance {
	if r.Body != nil && r.Body != http.NoBody { // the transport closed it: it cannot be sent again
		return nil
	}
	refused := errors.As(err, new(*dialError))
	reset := errors.Is(err, syscall.ECONNRESET) && (r.Method == http.MethodGet || r.Method == http.MethodHead)
	if !refused && !reset {
		return nil
	}
	d := s.live(failed.rel.ProjectID)
	if d == nil {
		return nil
	}
	if other := d.acquireOther(failed); other != nil || reset {
		return other
	}
	failed.mu.Lock()
	proc, wasCrashing := failed.proc, failed.crashing
	failed.mu.Unlock()
	t := time.NewTimer(retryWait)
	defer t.Stop()
	for {
		changed := s.Changed() // the supervisor reports the crash and the restart
		if other := d.acquireOther(failed); other != nil {
			return other
		}
		failed.mu.Lock()
		up := !failed.stopped && !failed.crashing && (wasCrashing || failed.proc != proc)
		failed.mu.Unlock()
		if up && failed.acquire() {
			return failed
		}
		select {
		case <-changed:
		case <-t.C:
			return nil
		case <-r.Context().Done():
			return nil
		case <-s.ctx.Done():
			return nil
		}
	}
}

// acquireOther returns a serving instance other than not that is not
// crashing, with a request counted on it, or nil.
func (d *deployment) acquireOther(not *instance) *instance {
	d.mu.Lock()
	head := d.active
	d.mu.Unlock()
	if head == nil {
		return nil
	}
	for _, c := range append([]*instance{head}, head.reps()...) {
		if c == not || c.static != nil {
			continue
		}
		c.mu.Lock()
		ok := !c.crashing && !c.stopped
		c.mu.Unlock()
		if ok && c.acquire() {
			return c
		}
	}
	return nil
}
