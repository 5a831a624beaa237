package imports

import (
	"context"
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// Guard refuses URLs that lead to this machine or its private networks
// (server-side request forgery) unless the operator allowed their host.
type Guard struct {
	Allow    []string // host names or IPs allowed even when private (--import-allow-hosts)
	Resolver *net.Resolver
}

// Target is a checked URL and the address to connect to (resolution pinned,
// so a second lookup cannot lead elsewhere).
type Target struct {
	URL  *url.URL
	Port string
	Addr netip.Addr
}

func (g Guard) allowed(host string) bool {
	for _, h := range g.Allow {
		if h = strings.TrimSpace(h); h != "" && strings.EqualFold(h, host) {
			return true
		}
	}
	return false
}

// Check parses raw (http or https only), resolves its host and refuses
// loopback, private, link-local, unspecified and multicast addresses unless
// the host is allowed.
func (g Guard) Check(ctx context.Context, raw string) (Target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Target{}, userErr("%q is not a URL: give an https:// address", raw)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return Target{}, userErr("only http and https URLs can be imported, not %q", u.Scheme)
	}
	if u.Host == "" {
		return Target{}, userErr("%q is not a URL: give an https:// address", raw)
	}
	if u.User != nil {
		return Target{}, userErr("put the access token in the token field, not in the URL")
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[u.Scheme]
	}
	r := g.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return Target{}, userErr("the host %s cannot be found", host)
	}
	for _, a := range addrs {
		a = a.Unmap()
		if !public(a) && !g.allowed(host) {
			return Target{}, userErr("%s resolves to %s, a loopback, private or link-local address: imports from it are refused (an operator can allow the host with --import-allow-hosts)", host, a)
		}
	}
	return Target{URL: u, Port: port, Addr: addrs[0].Unmap()}, nil
}

func public(a netip.Addr) bool {
	return !(a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsUnspecified() || a.IsMulticast() || a.IsInterfaceLocalMulticast() ||
		netip.MustParsePrefix("100.64.0.0/10").Contains(a) || netip.MustParsePrefix("0.0.0.0/8").Contains(a))
}
