// Package egress lets sandboxes reach an allowlist of hosts (package
// registries) and nothing else: an HTTP proxy listening inside each
// sandbox's network namespace (which has only loopback) that checks every
// request's host name before it dials out from the host.
package egress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"ecode/internal/sandbox"
)

// Where the proxy listens inside each sandbox.
const (
	Port = 3128
	Addr = "127.0.0.1:3128"
)

// DefaultAllow are the package registries of npm, PyPI and Go.
var DefaultAllow = []string{"registry.npmjs.org", "registry.yarnpkg.com", "pypi.org", "files.pythonhosted.org",
	"proxy.golang.org", "sum.golang.org", "storage.googleapis.com"}

// Env is what processes in a sandbox need to use the proxy.
func Env() []string {
	u := "http://" + Addr
	return []string{"HTTP_PROXY=" + u, "HTTPS_PROXY=" + u, "http_proxy=" + u, "https_proxy=" + u,
		"npm_config_proxy=" + u, "npm_config_https_proxy=" + u, "NO_PROXY=localhost,127.0.0.1", "no_proxy=localhost,127.0.0.1"}
}

// Proxy serves every sandbox's egress. Its Setup, Forget and Close (from
// sandbox.Listeners) are the sandbox hooks.
type Proxy struct {
	*sandbox.Listeners
	allow  []string // host names; ".example.org" also allows subdomains; IP literals allow that address
	dialer net.Dialer
	log    *slog.Logger
}

// New makes a proxy. listen opens a listener inside a network namespace
// (sandbox.ListenInNetns).
func New(allow []string, listen func(*os.File, string, string) (net.Listener, error), log *slog.Logger) *Proxy {
	p := &Proxy{allow: allow, log: log, dialer: net.Dialer{Timeout: 10 * time.Second}}
	p.Listeners = &sandbox.Listeners{Addr: Addr, Listen: listen, Serve: func(l net.Listener, _ string) {
		srv := &http.Server{Handler: p, ReadHeaderTimeout: 30 * time.Second}
		srv.Serve(l)
	}}
	return p
}

// Allowed reports whether host (a name or IP, no port) may be reached.
func (p *Proxy) Allowed(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, a := range p.allow {
		a = strings.ToLower(a)
		if host == a || strings.HasPrefix(a, ".") && (strings.HasSuffix(host, a) || host == a[1:]) {
			return true
		}
	}
	return false
}

// ServeHTTP handles CONNECT tunnels (HTTPS) and absolute-URI requests (HTTP).
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host, port := r.URL.Hostname(), r.URL.Port()
	if r.Method == http.MethodConnect {
		host, port, _ = net.SplitHostPort(r.Host)
	}
	if port == "" {
		port = "80"
	}
	if host == "" || !p.Allowed(host) {
		p.log.Info("egress refused", "host", host)
		http.Error(w, "egress to "+host+" is not allowed from this sandbox (allowed: "+strings.Join(p.allow, ", ")+")", http.StatusForbidden)
		return
	}
	conn, err := p.dial(r.Context(), host, port)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if r.Method == http.MethodConnect {
		p.tunnel(w, conn, "HTTP/1.1 200 Connection established\r\n\r\n")
		return
	}
	defer conn.Close()
	r.RequestURI = ""
	r.Header.Del("Proxy-Connection")
	if err := r.Write(conn); err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	p.tunnel(w, conn, "") // relay the response (and anything after) as bytes
}

// dial connects to host:port; names must not resolve to addresses the
// sandbox could not otherwise reach (loopback, private, link-local),
// unless that address itself is on the allowlist.
func (p *Proxy) dial(ctx context.Context, host, port string) (net.Conn, error) {
	if _, err := strconv.Atoi(port); err != nil {
		return nil, errors.New("bad port")
	}
	ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	for _, ip := range ips {
		internal := ip.IP.IsLoopback() || ip.IP.IsPrivate() || ip.IP.IsLinkLocalUnicast() || ip.IP.IsUnspecified()
		if internal && !p.Allowed(ip.IP.String()) {
			continue
		}
		return p.dialer.DialContext(ctx, "tcp", net.JoinHostPort(ip.IP.String(), port))
	}
	return nil, fmt.Errorf("%s resolves to no address the sandbox may reach", host)
}

// tunnel takes over the client connection, sends it greeting, and copies
// bytes both ways until one side closes.
func (p *Proxy) tunnel(w http.ResponseWriter, upstream net.Conn, greeting string) {
	client, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		upstream.Close()
		return
	}
	defer client.Close()
	defer upstream.Close()
	if greeting != "" {
		if _, err := io.WriteString(client, greeting); err != nil {
			return
		}
	}
	done := make(chan struct{}, 2)
	go func() { io.Copy(upstream, buf); done <- struct{}{} }()
	go func() { io.Copy(client, upstream); done <- struct{}{} }()
	<-done
}
