package app

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"ecode/internal/config"
	"ecode/internal/deploy"
	"ecode/internal/netlimit"
)

// newHTTPServer is the HTTP server in front of h: short header timeout, a
// deadline on request bodies, and a listener that caps open connections in
// total and per client address, so slow clients cannot use up the file
// descriptors (and /healthz keeps answering).
func newHTTPServer(cfg *config.Config, h http.Handler, ln net.Listener, log *slog.Logger) (*http.Server, net.Listener) {
	srv := &http.Server{
		Handler:           bodyDeadline(h, cfg.BodyTimeout),
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	total := int(cfg.MaxConns)
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < uint64(2*total) {
		// Half the descriptors stay for the database, files and sandboxes.
		total = max(16, int(lim.Cur/2))
		log.Info("connection cap lowered to half the open-file limit", "max_conns", total, "nofile", lim.Cur)
	}
	return srv, netlimit.New(ln, total, int(cfg.MaxConnsPerAddr))
}

// The main HTTP server's timeouts: to read a request's head, and for a
// kept-alive connection between requests.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 120 * time.Second
)

// AppListener wraps the main listener ln (given to the HTTP server in
// front of Handler) with package deploy's raw path: published apps' common
// requests are served without net/http's server (deploy.RawListener),
// every other connection is the server's.
func (s *Server) AppListener(ln net.Listener) net.Listener {
	return s.Deploy.RawListener(ln, s.API.RawFront(), deploy.RawOptions{HeaderTimeout: readHeaderTimeout, IdleTimeout: idleTimeout})
}

// allowedHosts are the host names the server answers to besides loopback
// names and preview subdomains: --public-url's, the listen address's (when
// it is not a wildcard) and --allowed-hosts.
func allowedHosts(cfg *config.Config) []string {
	var hosts []string
	for _, h := range strings.Split(cfg.AllowedHosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	if u, err := url.Parse(cfg.PublicURL); err == nil && u.Hostname() != "" {
		hosts = append(hosts, u.Hostname())
	}
	if h, _, err := net.SplitHostPort(cfg.Addr); err == nil && h != "" {
		if ip := net.ParseIP(h); ip == nil || !ip.IsUnspecified() {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// trustedProxies is --trusted-proxies, already checked by Validate.
func trustedProxies(cfg *config.Config) []netip.Prefix {
	p, _ := cfg.TrustedProxyPrefixes()
	return p
}

// bodyDeadline gives each request body timeout to arrive. The connection's
// read deadline is cleared once the body is read (or fails), so a long
// handler (an exec, an event stream) is not cut off by it. Requests without
// a body and WebSocket upgrades are left alone.
func bodyDeadline(next http.Handler, timeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody || strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		if err := rc.SetReadDeadline(time.Now().Add(timeout)); err == nil {
			r.Body = &deadlineBody{ReadCloser: r.Body, clear: func() { rc.SetReadDeadline(time.Time{}) }}
		}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody clears the read deadline when the body has been read. On a
// failure (the deadline passed) it stays, so the server does not go on
// reading the rest of the body and closes the connection.
type deadlineBody struct {
	io.ReadCloser
	clear   func()
	cleared bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.cleared {
		b.cleared = true
		b.clear()
	}
	return n, err
}
