package deploy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"syscall"
	"time"

	"ecode/internal/countwriter"
)

// A request the app could not take because its instance had just crashed
// is tried once more rather than answered 502: on another healthy
// instance of the group, or, with none, on the same one once its
// supervisor has started it again (bounded by Options.RetryWait, waiting
// on the service's change notifications). Only when sending again is
// safe: the connection was refused (nothing reached the app), or it was
// reset on a GET or HEAD (then only on another instance: a request that
// crashed the app is not sent to it again). A request's body can be sent
// again when it is small (at most maxReplayBody bytes): it is read before
// the request is proxied and kept (bufferBody); a larger one streams to
// the app as it comes and is never retried.

// maxReplayBody is the largest request body kept so that the request can
// be sent again.
const maxReplayBody = 64 << 10

// dialError is a failure to connect to the app: the request was not sent.
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// retriedKey marks a request's context once it was retried.
type retriedKey struct{}

// StatusClientClosed is the status recorded (meter, metrics, access log)
// for a request whose client went away before the app's answer began,
// nginx's 499 ("client closed request"): the app did not fail, nothing is
// written, and it counts in the 4xx class, not as a 5xx server error.
const StatusClientClosed = 499

// proxyError is the proxy's ErrorHandler: called before any byte of a
// response was written, it retries the request once when that is safe,
// else answers 502, or nothing when the client went away (the request's
// context ended: that is why the app's answer was given up on).
func (i *instance) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Value(retriedKey{}) == nil && r.Context().Err() == nil {
		if next := i.s.retryTarget(r, i, err); next != nil {
			defer next.done()
			again := r.WithContext(context.WithValue(r.Context(), retriedKey{}, true))
			if r.GetBody != nil {
				body, err := r.GetBody()
				if err != nil {
					appPage(w, http.StatusBadGateway, "The app did not answer", "It may be restarting; try again in a moment.")
					return
				}
				again.Body = body
			}
			next.rp.ServeHTTP(w, again)
			return
		}
	}
	if r.Context().Err() != nil {
		clientGone(w)
		return
	}
	appPage(w, http.StatusBadGateway, "The app did not answer", "It may be restarting; try again in a moment.")
}

// clientGone records StatusClientClosed for a request whose client went
// away and closes its connection, so that net/http does not write the
// response it writes for a handler that wrote none (an HTTP/2 stream the
// client ended takes nothing more).
func clientGone(w http.ResponseWriter) {
	if cw, ok := w.(*countwriter.Writer); ok {
		cw.Abandon(StatusClientClosed)
	}
	if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
		c.Close()
	}
}

// retryTarget returns the instance to send the failed request to again,
// with the request counted on it, or nil when it must not be retried.
func (s *Service) retryTarget(r *http.Request, failed *instance, err error) *instance {
	if r.Body != nil && r.Body != http.NoBody && r.GetBody == nil { // read by the transport, not kept: it cannot be sent again
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
	t := time.NewTimer(s.opts.RetryWait)
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

// bufferBody reads a small request body (at most maxReplayBody bytes, by
// its Content-Length or, when unknown, by reading up to the cap) into
// memory and sets r.GetBody, so that the request can be sent again. A
// larger body is left to stream (what was read goes first); r.GetBody stays
// nil. It reports false when the client's body could not be read.
func bufferBody(r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength > maxReplayBody {
		return true
	}
	orig := r.Body
	b, err := io.ReadAll(io.LimitReader(orig, maxReplayBody+1))
	if err != nil {
		return false
	}
	if len(b) > maxReplayBody {
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(b), orig), orig}
		return true
	}
	orig.Close()
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	r.Body, _ = r.GetBody()
	r.ContentLength = int64(len(b))
	return true
}
