package api

import (
	"context"
	"net"
	"net/http"
	"strings"
)

// hostAllowed reports whether the server answers to the request's Host:
// loopback names, the configured hosts (Options.AllowedHosts: --public-url's,
// the listen address, --allowed-hosts; "*" allows any; an entry with a port
// admits only that port), preview subdomains and verified custom domains.
// Refusing other names stops DNS rebinding: a page on evil.com resolved to
// 127.0.0.1 reaches the server, but with Host: evil.com.
func (s *Server) hostAllowed(host string) bool {
	name, port := host, ""
	if h, p, err := net.SplitHostPort(host); err == nil {
		name, port = h, p
	}
	name = strings.ToLower(strings.TrimSuffix(strings.Trim(name, "[]"), "."))
	if name == "localhost" || strings.HasSuffix(name, ".localhost") { // always loopback (RFC 6761)
		return true
	}
	if ip := net.ParseIP(name); ip != nil && ip.IsLoopback() {
		return true
	}
	if _, ok := s.previewProject(name); ok {
		return true
	}
	if _, ok := s.domains.ProjectForHost(context.Background(), name); ok { // verified custom domains
		return true
	}
	if s.deploy.IsAppHost(name) { // published apps: <slug>.<apps domain>
		return true
	}
	for _, h := range s.opts.AllowedHosts {
		if h == "*" || strings.EqualFold(h, name) {
			return true
		}
		// An entry with a port ("ide.example.org:8443") admits that port only;
		// a Host without one means the scheme's default port.
		if hn, hp, err := net.SplitHostPort(h); err == nil && strings.EqualFold(strings.Trim(hn, "[]"), name) &&
			(hp == port || port == "" && (hp == "80" || hp == "443")) {
			return true
		}
	}
	return false
}

// checkHost answers requests for hosts the server does not serve with 421.
// Probes and scrapers (/healthz, /readyz, /metrics) are let through: they
// often use an address the operator never configured.
func (s *Server) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz", "/readyz", "/metrics", "/status.json":
		default:
			if !s.hostAllowed(r.Host) {
				s.writeError(w, r, &Error{Status: http.StatusMisdirectedRequest, Code: "host_not_allowed",
					Message: "this server does not answer to the host name " + r.Host +
						"; its operator can add it with --allowed-hosts (or set --public-url)"})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
