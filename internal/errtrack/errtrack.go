// Package errtrack is E-Code's error tracking: it records the server's
// panics and 5xx answers and the errors browsers report, grouped by a
// fingerprint of their message and stack, and keeps the page-load timings
// (web vitals) browsers send. The admin Errors page reads it.
package errtrack

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"ecode/internal/store"
)

// Sources of reports.
const (
	SourceServer  = "server"
	SourceBrowser = "browser"
)

// Kinds of reports.
const (
	KindPanic     = "panic"               // a handler panicked
	KindServer    = "server_error"        // a 5xx answer
	KindError     = "error"               // the browser's window error event
	KindRejection = "unhandled_rejection" // the browser's unhandledrejection event
)

// Size caps on what is stored of a report.
const (
	maxMessage = 1 << 10
	maxStack   = 16 << 10
	maxField   = 512
)

// Report is one occurrence of an error.
type Report struct {
	Source    string
	Kind      string
	Message   string
	Stack     string
	Route     string // the route pattern (server) or page path (browser)
	RequestID string
	UserID    string
	URL       string
	UserAgent string
}

// Tracker records reports. It is safe for concurrent use.
type Tracker struct {
	store   *store.Store
	now     func() time.Time
	log     *slog.Logger
	mask    func(string) string
	limiter *limiter
	vitals  *vitals
	keep    time.Duration

	mu     sync.Mutex
	counts map[string]int64 // occurrences by source since start (monitoring)
}

// Options adjust a tracker.
type Options struct {
	// Mask hides secret values in what is stored (nil: nothing masked).
	Mask func(string) string
	// BrowserRate is how many browser reports one address may send per
	// minute (default 30); Burst how many at once (default 10).
	BrowserRate, Burst int
	// Retention is how long occurrences and web vitals are kept (default
	// 30 days); Prune applies it.
	Retention time.Duration
}

// New returns a tracker writing to st.
func New(st *store.Store, now func() time.Time, log *slog.Logger, o Options) *Tracker {
	if o.Mask == nil {
		o.Mask = func(s string) string { return s }
	}
	if o.BrowserRate <= 0 {
		o.BrowserRate = 30
	}
	if o.Burst <= 0 {
		o.Burst = 10
	}
	if o.Retention <= 0 {
		o.Retention = 30 * 24 * time.Hour
	}
	return &Tracker{store: st, now: now, log: log, mask: o.Mask, limiter: newLimiter(o.BrowserRate, o.Burst, now),
		vitals: newVitals(), keep: o.Retention, counts: map[string]int64{}}
}

// Prune deletes the occurrences older than the retention and the groups
// none is left of, and forgets this node's older web vitals (other nodes
// leave theirs out of Vitals and drop them as they record). It returns
// how many occurrences and groups went.
func (t *Tracker) Prune(ctx context.Context) (events, groups int64, err error) {
	cutoff := t.now().Add(-t.keep)
	t.vitals.prune(cutoff)
	return t.store.PruneErrors(ctx, cutoff)
}

// Capture records r and returns its group's id. Failures are logged, not
// returned: tracking must never break the request that failed.
func (t *Tracker) Capture(ctx context.Context, r Report) string {
	r = t.clean(r)
	id := Fingerprint(r)
	g := store.ErrorGroup{ID: id, Source: r.Source, Kind: r.Kind, Message: r.Message, Route: r.Route, Stack: r.Stack}
	e := store.ErrorEvent{ID: newID(), RequestID: r.RequestID, UserID: r.UserID, Route: r.Route, URL: r.URL,
		UserAgent: r.UserAgent, Stack: r.Stack, CreatedAt: t.now()}
	// The request's context may be ending (a client gone); the record stays.
	if err := t.store.RecordError(context.WithoutCancel(ctx), g, e); err != nil {
		t.log.Error("record tracked error", "fingerprint", id, "err", err)
	}
	t.mu.Lock()
	t.counts[r.Source]++
	t.mu.Unlock()
	return id
}

// Counts returns the occurrences recorded since start, by source.
func (t *Tracker) Counts() map[string]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]int64, len(t.counts))
	for k, v := range t.counts {
		out[k] = v
	}
	return out
}

// Allow tells whether the client at addr may send another browser report
// now (a token bucket per address).
func (t *Tracker) Allow(addr string) bool { return t.limiter.allow(addr) }

func (t *Tracker) clean(r Report) Report {
	r.Message = truncate(t.mask(strings.TrimSpace(r.Message)), maxMessage)
	if r.Message == "" {
		r.Message = "(no message)"
	}
	r.Stack = truncate(t.mask(r.Stack), maxStack)
	r.URL = truncate(t.mask(r.URL), maxField)
	r.Route = truncate(r.Route, maxField)
	r.UserAgent = truncate(r.UserAgent, maxField)
	r.RequestID = truncate(r.RequestID, 64)
	return r
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

var (
	numbers  = regexp.MustCompile(`0x[0-9a-fA-F]+|[0-9a-fA-F]{8,}|\d+`)
	jsLoc    = regexp.MustCompile(`(\?[^:)\s]*)?(:\d+)+\)?$`)
	assetTag = regexp.MustCompile(`-[A-Za-z0-9_]{8}\.js`)
)

// Fingerprint is the group id of r: a hash of its source, kind, route,
// message with numbers and ids blanked, and the top frames of its stack
// without line numbers or addresses, so that the same fault groups across
// requests, users and builds.
func Fingerprint(r Report) string {
	h := sha256.New()
	for _, part := range []string{r.Source, r.Kind, r.Route, numbers.ReplaceAllString(r.Message, "N")} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	for _, f := range topFrames(r.Stack, 5) {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:24]
}

// topFrames returns up to n function frames of a Go or JavaScript stack,
// normalized. In a Go panic's stack, the frames up to and including the
// panic itself are skipped.
func topFrames(stack string, n int) []string {
	lines := strings.Split(stack, "\n")
	var frames []string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		switch {
		case l == "", strings.HasPrefix(l, "goroutine "), strings.HasPrefix(l, "/"), strings.HasPrefix(l, "created by"):
			continue // Go: file:line lines, headers
		case strings.HasPrefix(l, "panic(") || strings.HasPrefix(l, "runtime/debug.Stack") || strings.HasPrefix(l, "runtime.gopanic"):
			frames = frames[:0] // the frames above the panic are the recovery's
			continue
		case strings.HasPrefix(l, "at "): // JavaScript (V8)
			l = jsLoc.ReplaceAllString(strings.TrimPrefix(l, "at "), "")
			l = assetTag.ReplaceAllString(l, ".js")
		case strings.Contains(l, "@"): // JavaScript (Firefox, Safari): fn@url:line:col
			l = assetTag.ReplaceAllString(jsLoc.ReplaceAllString(l, ""), ".js")
		default:
			l = stripArgs(l)
		}
		frames = append(frames, l)
	}
	if len(frames) > n {
		frames = frames[:n]
	}
	return frames
}

// stripArgs removes a Go frame's trailing argument list: the last
// balanced parenthesized group ("pkg.(*T).m(0x1, {0x2, 0x3})" → "pkg.(*T).m").
func stripArgs(l string) string {
	if !strings.HasSuffix(l, ")") {
		return l
	}
	depth := 0
	for i := len(l) - 1; i >= 0; i-- {
		switch l[i] {
		case ')':
			depth++
		case '(':
			if depth--; depth == 0 {
				return l[:i]
			}
		}
	}
	return l
}

func newID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}
