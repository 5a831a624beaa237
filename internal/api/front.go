package api

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"
	"time"

	"ecode/internal/auth"
	"ecode/internal/countwriter"
	"ecode/internal/deploy"
	"ecode/internal/secrets"
	"ecode/internal/store"

	"go.opentelemetry.io/otel/trace"
)

// reqInfo is what the front of the handler knows about a request and what
// the access log and error tracking learn as it is served: one value in
// the request's context (its id, the client's address, the route matched
// and the user it was authorized as), allocated once with the writer that
// records the status.
type reqInfo struct {
	sw     countwriter.Writer
	id     string
	idHdr  [1]string // id, as the X-Request-Id header's value
	client string
	route  string
	userID string
	// who guard authorized the request as (principal and project)
	principal auth.Principal
	project   store.Project
}

func info(ctx context.Context) *reqInfo {
	if ri, ok := ctx.Value(keyReqInfo).(*reqInfo); ok {
		return ri
	}
	return &reqInfo{}
}

// withInfo returns r with its reqInfo: front's, or a new one when r did
// not come through front.
func withInfo(r *http.Request) (*http.Request, *reqInfo) {
	if ri, ok := r.Context().Value(keyReqInfo).(*reqInfo); ok {
		return r, ri
	}
	ri := &reqInfo{client: peerIP(r)}
	return r.WithContext(infoContext(r.Context(), ri)), ri
}

// infoContext is ctx carrying ri, which also answers the secrets'
// service for who acts.
func infoContext(ctx context.Context, ri *reqInfo) context.Context {
	return secrets.WithActorSource(context.WithValue(ctx, keyReqInfo, ri), ri)
}

// SecretActor is who acts, for the secrets' audit log: the caller guard
// authorized (before that, or on a public route, nobody: "system").
func (ri *reqInfo) SecretActor() secrets.Actor {
	if ri.userID == "" {
		return secrets.Actor{}
	}
	return secretActor(ri.client, ri.principal)
}

func requestID(ctx context.Context) string {
	if ri, ok := ctx.Value(keyReqInfo).(*reqInfo); ok {
		return ri.id
	}
	return ""
}

// clientIP is the client's address as clientAddress found it.
func clientIP(r *http.Request) string {
	if ri, ok := r.Context().Value(keyReqInfo).(*reqInfo); ok && ri.client != "" {
		return ri.client
	}
	return peerIP(r)
}

// newRequestID is 16 hex digits from the runtime's per-thread generator
// (no system call, no lock): request ids name log lines, not secrets.
func newRequestID() string {
	var b [8]byte
	v := rand.Uint64()
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	var h [16]byte
	hex.Encode(h[:], b[:])
	return string(h[:])
}

// front serves every request: it gives it an id (the X-Request-Id header,
// the log and any error report), finds the client's address, starts its
// span when tracing is on, turns a panic into a 500, and writes one access
// log line (request id, method, route, path, status, bytes, duration,
// user), its request metrics and its monitoring sample. Published apps'
// hosts go straight to apps: they need no host check, custom-domain
// handling, IDE headers or session; everything else goes to rest.
func (s *Server) front(apps, rest http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := &reqInfo{id: newRequestID(), client: s.clientAddress(r)}
		ri.sw.ResponseWriter = w
		ri.idHdr[0] = ri.id
		w.Header()["X-Request-Id"] = ri.idHdr[:]
		ctx := infoContext(r.Context(), ri)
		var span trace.Span
		if s.tracer != nil {
			ctx, span = s.startRequestSpan(ctx, r, ri.id)
		}
		r = r.WithContext(ctx)
		start := s.now()
		if s.appHost(r) {
			s.serveRecovering(apps, r, ri)
		} else {
			s.serveRecovering(rest, r, ri)
		}
		if ri.route == "" {
			ri.route = r.Pattern
		}
		var traceID string
		if span != nil {
			traceID = endRequestSpan(span, r, ri, ri.sw.Status)
		}
		d := s.now().Sub(start)
		s.metrics.ObserveRequest(r.Pattern, r.Method, ri.sw.Status, d)
		if s.onRequest != nil {
			streamed := ri.sw.Status == http.StatusSwitchingProtocols || strings.HasPrefix(ri.sw.Header().Get("Content-Type"), "text/event-stream")
			s.onRequest(ri.sw.Status, d, streamed)
		}
		s.accessLog(r, ri, d, traceID)
	})
}

// RawFront is the front's work for the requests package deploy's raw
// path serves without net/http's server (deploy.RawListener): only app
// hosts that are not custom domains, and none while tracing is on (the
// raw path makes no spans); each gets an id (X-Request-Id), its request
// metrics, monitoring sample and access log line as front gives them.
func (s *Server) RawFront() deploy.RawFront {
	return deploy.RawFront{
		Plain: func(host string) bool {
			if s.tracer != nil || !s.deploy.IsAppHost(host) {
				return false
			}
			_, custom := s.domains.ProjectForHost(context.Background(), host)
			return !custom
		},
		NewID: newRequestID,
		Served: func(id, method, path string, status int, bytes int64, d time.Duration, streamed bool) {
			s.metrics.ObserveRequest("", method, status, d)
			if s.onRequest != nil {
				s.onRequest(status, d, streamed)
			}
			s.logRequest(id, method, "", path, status, bytes, d, "", "")
		},
	}
}

// appHost reports whether r is for a published app's host name (one
// that is not also a verified custom domain, which customDomains serves).
func (s *Server) appHost(r *http.Request) bool {
	if !s.deploy.IsAppHost(r.Host) {
		return false
	}
	_, custom := s.domains.ProjectForHost(r.Context(), r.Host)
	return !custom
}

// accessLog writes the request's line (typed attributes: nothing boxed).
func (s *Server) accessLog(r *http.Request, ri *reqInfo, d time.Duration, traceID string) {
	s.logRequest(ri.id, r.Method, ri.route, r.URL.Path, ri.sw.Status, ri.sw.Bytes, d, ri.userID, traceID)
}

func (s *Server) logRequest(id, method, route, path string, status int, bytes int64, d time.Duration, userID, traceID string) {
	attrs := [9]slog.Attr{slog.String("request_id", id), slog.String("method", method), slog.String("route", route),
		slog.String("path", path), slog.Int("status", status), slog.Int64("bytes", bytes),
		slog.Float64("duration_ms", float64(d)/float64(time.Millisecond)), slog.String("user_id", userID)}
	n := 8
	if traceID != "" {
		attrs[n] = slog.String("trace_id", traceID)
		n++
	}
	s.log.LogAttrs(context.Background(), slog.LevelInfo, "request", attrs[:n]...)
}

// panicError is a handler's panic: its value and the stack where it happened.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

// serveRecovering serves r with h, turning a panic into a 500, a log line
// and an error report with its stack.
func (s *Server) serveRecovering(h http.Handler, r *http.Request, ri *reqInfo) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.writeError(&ri.sw, r, errInternal(&panicError{value: v, stack: debug.Stack()}))
		}
	}()
	h.ServeHTTP(&ri.sw, r)
}

// clientAddress finds the client's address for rate limits and the
// security log: the connection's peer, unless that is a trusted proxy; then
// X-Forwarded-For is read from the right (each proxy appends the address it
// saw) and the first address that is not a trusted proxy is the client.
// Entries left of it were written by the client and are ignored. A request
// forwarded by another node carries the address that node found (signed).
func (s *Server) clientAddress(r *http.Request) string {
	if f, ok := r.Context().Value(keyForwarded).(forwarded); ok && f.client != "" {
		return f.client
	}
	ip := peerIP(r)
	if len(s.opts.TrustedProxies) == 0 || !s.trustedProxy(ip) {
		return ip
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		h := strings.TrimSpace(hops[i])
		if a, err := netip.ParseAddr(h); err != nil || !a.IsValid() {
			break // garbage: keep the last address we could trust
		}
		ip = h
		if !s.trustedProxy(h) {
			break
		}
	}
	return ip
}

func (s *Server) trustedProxy(a string) bool {
	ip, err := netip.ParseAddr(strings.TrimSpace(a))
	if err != nil {
		return false
	}
	for _, p := range s.opts.TrustedProxies {
		if p.Contains(ip.Unmap()) {
			return true
		}
	}
	return false
}

// securityHeaders sets the headers every IDE response carries. The values
// are built once and shared, never changed in place (Header.Set replaces a
// slice; Header.Add appends to a full one, which copies it).
func securityHeaders(next http.Handler) http.Handler {
	nosniff, deny, sameOrigin := []string{"nosniff"}, []string{"DENY"}, []string{"same-origin"}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["X-Content-Type-Options"], h["X-Frame-Options"], h["Referrer-Policy"] = nosniff, deny, sameOrigin
		next.ServeHTTP(w, r)
	})
}
