package api

import (
	"net"
	"net/http"
	"strings"
)

// hostAllowed reports whether the server answers to the request's Host:
// loopback names, the configured hosts (Options.AllowedHosts: --public-url's,
// the listen address, --allowed-hosts; "*" allows any) and preview
// subdomains. Refusing other names stops DNS rebinding: a page on evil.com
// resolved to 127.0.0.1 reaches the server, but with Host: evil.com.
func (s *Server) hostAllowed(host string) bool {
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
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
	if s.deploy.IsAppHost(name) { // published apps: <slug>.<apps domain>
		return true
	}
	for _, h := range s.opts.AllowedHosts {
		if h == "*" || strings.EqualFold(h, name) {
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
		case "/healthz", "/readyz", "/metrics":
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
