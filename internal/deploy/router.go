package deploy

import (
	"ecode/internal/countwriter"
	"errors"
	"html"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"
	"time"
)

// Router returns the handler of deployment hosts: <slug>.<apps domain> and,
// with Hosts set, custom domains. It needs no session, and strips E-Code's
// own cookies so an app never sees them.
func (s *Service) Router() http.Handler {
	return http.HandlerFunc(s.serveApp)
}

// IsAppHost reports whether host (with or without a port) is a deployment
// host name under the apps domain.
func (s *Service) IsAppHost(host string) bool {
	_, ok := s.slugOf(host)
	return ok
}

func (s *Service) slugOf(host string) (string, bool) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	sub, ok := strings.CutSuffix(strings.ToLower(strings.TrimSuffix(host, ".")), "."+s.opts.AppsDomain)
	return sub, ok && sub != "" && !strings.Contains(sub, ".")
}

// projectFor finds the project deployed at the request's host; one this
// node does not know yet (published through another node) is looked up in
// the store.
func (s *Service) projectFor(r *http.Request) (*deployment, bool) {
	if slug, ok := s.slugOf(r.Host); ok {
		s.mu.Lock()
		d, ok := s.deps[s.bySlug[slug]]
		s.mu.Unlock()
		if !ok {
			return s.learn(r.Context(), slug, "")
		}
		return d, true
	}
	if s.Hosts == nil {
		return nil, false
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	projectID, _ := s.Hosts.ProjectForHost(r.Context(), strings.ToLower(host))
	if projectID == "" {
		return nil, false
	}
	s.mu.Lock()
	d, ok := s.deps[projectID]
	s.mu.Unlock()
	if !ok {
		return s.learn(r.Context(), "", projectID)
	}
	return d, true
}

func (s *Service) serveApp(w http.ResponseWriter, r *http.Request) {
	d, ok := s.projectFor(r)
	if !ok {
		appPage(w, http.StatusNotFound, "No app here", "Nothing is published at "+r.Host+".")
		return
	}
	if s.d.Cluster != nil && s.atOwner(w, r, d) { // run by another node: forwarded there
		return
	}
	inst := d.acquire()
	if inst == nil {
		if why := d.suspension(); why != "" {
			pausedPage(w, why)
			return
		}
		if d.isScheduled() {
			s.scheduledPage(w, r, d)
			return
		}
		var err error
		if inst, err = s.wake(r.Context(), d); err != nil { // scaled to zero: held until it listens
			notRunningPage(w, err)
			return
		}
	}
	defer inst.done()
	stripPlatformCookies(r)
	start := time.Now()
	cw := &countwriter.Writer{ResponseWriter: w}
	defer func() {
		code := cw.Status
		if code == 0 {
			code = http.StatusOK
		}
		s.meter.served(d.projectID, code, cw.Bytes)
		if s.d.Requests != nil {
			s.d.Requests.ObserveApp(d.projectID, code, time.Since(start), cw.Bytes)
		}
	}()
	if inst.static != nil {
		inst.static.ServeHTTP(cw, r)
		return
	}
	if fastOK(r) {
		inst.fast.ServeHTTP(cw, r)
		return
	}
	if !bufferBody(r) {
		appPage(cw, http.StatusBadRequest, "Bad request", "The request's body could not be read.")
		return
	}
	inst.rp.ServeHTTP(cw, r)
}

// notRunningPage answers a request nothing can serve: the app is not
// running, or it was asleep and did not start (the reason shown).
func notRunningPage(w http.ResponseWriter, err error) {
	if errors.Is(err, errNotAsleep) {
		appPage(w, http.StatusServiceUnavailable, "This app is not running", "Its owner can publish it again from E-Code.")
		return
	}
	appPage(w, http.StatusServiceUnavailable, "This app did not start", "It was idle and had to start again, but: "+err.Error()+".")
}

// newProxy forwards to the instance's app inside its sandbox.
func (i *instance) newProxy() *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = "http", "app"
			pr.SetXForwarded()
			pr.Out.Host = pr.In.Host
		},
		Transport:    i.transport,
		BufferPool:   &i.s.buffers,
		ErrorHandler: i.proxyError,
	}
}

// buffers lends the reverse proxies their 32 KiB copy buffers, so a
// proxied response does not allocate one (httputil.BufferPool).
type buffers struct{ pool sync.Pool }

func (b *buffers) Get() []byte {
	if p, ok := b.pool.Get().(*[]byte); ok {
		return *p
	}
	return make([]byte, 32<<10)
}

func (b *buffers) Put(buf []byte) { b.pool.Put(&buf) }

// stripPlatformCookies removes E-Code's own cookies (ecode_*) from a
// request to an app: a shared parent domain must not hand them over.
func stripPlatformCookies(r *http.Request) {
	has := false
	for _, v := range r.Header["Cookie"] {
		has = has || strings.Contains(v, "ecode_")
	}
	if !has {
		return
	}
	cs := r.Cookies()
	if len(cs) == 0 {
		return
	}
	r.Header.Del("Cookie")
	for _, c := range cs {
		if !strings.HasPrefix(c.Name, "ecode_") {
			r.AddCookie(c)
		}
	}
}

// appPage answers with a small page of E-Code's own.
func appPage(w http.ResponseWriter, status int, title, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write([]byte(appPageHTML(title, text)))
}

func appPageHTML(title, text string) string {
	return "<!doctype html><meta charset=utf-8><title>" + html.EscapeString(title) +
		"</title><body style=\"font-family:system-ui;margin:4rem auto;max-width:36rem\"><h1>" + html.EscapeString(title) +
		"</h1><p>" + html.EscapeString(text) + "</p>"
}
