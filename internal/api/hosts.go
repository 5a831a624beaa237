package api

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// allowedHosts is Options.AllowedHosts made ready for lookups: names
// (lower case) admitted on any port, and entries with a port.
type allowedHosts struct {
	any    bool
	names  map[string]bool
	ported []struct{ name, port string }
}

func newAllowedHosts(hosts []string) allowedHosts {
	a := allowedHosts{names: map[string]bool{}}
	for _, h := range hosts {
		if h == "*" {
			a.any = true
		} else if hn, hp, err := net.SplitHostPort(h); err == nil {
			a.ported = append(a.ported, struct{ name, port string }{strings.ToLower(strings.Trim(hn, "[]")), hp})
		} else {
			a.names[strings.ToLower(h)] = true
		}
	}
	return a
}

// hostAllowed reports whether the server answers to the request's Host:
// loopback names, the configured hosts (Options.AllowedHosts: --public-url's,
// the listen address, --allowed-hosts; "*" allows any; an entry with a port
// admits only that port), preview subdomains and verified custom domains.
// Refusing other names stops DNS rebinding: a page on evil.com resolved to
// 127.0.0.1 reaches the server, but with Host: evil.com.
func (s *Server) hostAllowed(allowed *allowedHosts, host string) bool {
	if allowed.any {
		return true
	}
	name, port := host, ""
	if h, p, err := net.SplitHostPort(host); err == nil {
		name, port = h, p
	}
	name = strings.ToLower(strings.TrimSuffix(strings.Trim(name, "[]"), "."))
	if name == "localhost" || strings.HasSuffix(name, ".localhost") { // always loopback (RFC 6761)
		return true
	}
	if ip, err := netip.ParseAddr(name); err == nil && ip.Unmap().IsLoopback() {
		return true
	}
	if allowed.names[name] {
		return true
	}
	// An entry with a port ("ide.example.org:8443") admits that port only;
	// a Host without one means the scheme's default port.
	for _, h := range allowed.ported {
		if h.name == name && (h.port == port || port == "" && (h.port == "80" || h.port == "443")) {
			return true
		}
	}
	if _, ok := s.previewProject(name); ok {
		return true
	}
	if _, ok := s.domains.ProjectForHost(context.Background(), name); ok { // verified custom domains
		return true
	}
	return s.deploy.IsAppHost(name) // published apps: <slug>.<apps domain>
}

// checkHost answers requests for hosts the server does not serve with 421.
// Probes and scrapers (/healthz, /readyz, /metrics) are let through: they
// often use an address the operator never configured.
func (s *Server) checkHost(next http.Handler) http.Handler {
	allowed := newAllowedHosts(s.opts.AllowedHosts)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz", "/readyz", "/metrics", "/status.json":
		default:
			if !s.hostAllowed(&allowed, r.Host) {
				s.writeError(w, r, &Error{Status: http.StatusMisdirectedRequest, Code: "host_not_allowed",
					Message: "this server does not answer to the host name " + r.Host +
						"; its operator can add it with --allowed-hosts (or set --public-url)"})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
