package api_test

import (
	"net/http"
	"strings"
	"testing"

	"ecode/internal/config"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// hostRequest sends method path to srv with the given Host header.
func hostRequest(t *testing.T, srv *testutil.Server, method, path, host, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestHostCheck: a request naming another host (DNS rebinding: evil.com
// resolved to this server) cannot sign up the first admin; loopback names,
// configured hosts and preview subdomains are answered.
func TestHostCheck(t *testing.T) {
	st := testutil.NewStore(t, store.SQLite)
	srv := testutil.NewServer(t, st, testutil.ServerOptions{
		Config: func(c *config.Config) {
			c.AllowedHosts, c.PreviewDomain = "ide.example.org, api.example.org:8443, web.example.org:443", "preview.example.org"
		}})
	signup := `{"email":"mallory@example.test","password":"correct horse battery","name":"M"}`
	if resp := hostRequest(t, srv, "POST", "/api/auth/signup", "evil.com", signup); resp.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("sign-up with Host evil.com: %s", resp.Status)
	}
	if resp := hostRequest(t, srv, "GET", "/", "evil.com:80", ""); resp.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("page with Host evil.com: %s", resp.Status)
	}
	if n, err := st.CountUsers(t.Context()); err != nil || n != 0 {
		t.Fatalf("users after the refused sign-up: %d, %v", n, err)
	}
	for _, host := range []string{"localhost:5000", "127.0.0.1:1234", "[::1]:80", "IDE.example.org", "ide.example.org:443",
		"ide.example.org:9000", "api.example.org:8443", "web.example.org", "web.example.org:443"} {
		if resp := hostRequest(t, srv, "GET", "/api/server", host, ""); resp.StatusCode != 200 {
			t.Errorf("Host %s: %s", host, resp.Status)
		}
	}
	for _, host := range []string{"api.example.org:9000", "api.example.org", "web.example.org:8080"} { // entries with a port admit only it
		if resp := hostRequest(t, srv, "GET", "/api/server", host, ""); resp.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("Host %s: %s, want 421", host, resp.Status)
		}
	}
	if resp := hostRequest(t, srv, "GET", "/", "p-abc.preview.example.org", ""); resp.StatusCode == http.StatusMisdirectedRequest {
		t.Error("preview subdomain refused")
	}
	if resp := hostRequest(t, srv, "GET", "/healthz", "10.1.2.3:5000", ""); resp.StatusCode != 200 {
		t.Errorf("/healthz from a probe: %s", resp.Status)
	}
}

// loginFrom signs in with an X-Forwarded-For header and answers the status.
func loginFrom(t *testing.T, srv *testutil.Server, forwardedFor, password string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+"/api/auth/login",
		strings.NewReader(`{"email":"owner@example.test","password":"`+password+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", forwardedFor)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestTrustedProxies: behind a trusted proxy the client's address comes
// from X-Forwarded-For (rate limits and the security log see it), read
// from the right so a client cannot pick its own address; without the
// option the header is ignored.
func TestTrustedProxies(t *testing.T) {
	for _, trusted := range []bool{true, false} {
		st := testutil.NewStore(t, store.SQLite)
		srv := testutil.NewServer(t, st, testutil.ServerOptions{Config: func(c *config.Config) {
			if trusted {
				c.TrustedProxies = "127.0.0.0/8, 10.9.9.9"
			}
		}})
		owner := srv.User(t, "owner")
		// The attacker forges a leftmost entry; the proxies append theirs.
		limited := 0
		for range 12 {
			if loginFrom(t, srv, "198.51.100.1, 203.0.113.5, 10.9.9.9", "wrong") == http.StatusTooManyRequests {
				limited++
			}
		}
		if limited == 0 {
			t.Fatalf("trusted=%v: the attacker was never slowed down", trusted)
		}
		got := loginFrom(t, srv, "203.0.113.6", "correct horse battery")
		if want := map[bool]int{true: 200, false: 429}[trusted]; got != want {
			// Without trusting the proxy every client shares its address, so the
			// attacker's backoff reaches the owner too (the reason for the option).
			t.Errorf("trusted=%v: the owner from another address got %d, want %d", trusted, got, want)
		}
		ips := map[string]bool{}
		for _, e := range events(t, owner, "/api/me/security-events") {
			ips[e.IP] = true
		}
		if trusted && (!ips["203.0.113.5"] || !ips["203.0.113.6"] || ips["198.51.100.1"]) {
			t.Errorf("trusted: the security log saw %v", ips)
		}
		if !trusted && (len(ips) != 1 || !ips["127.0.0.1"]) {
			t.Errorf("untrusted: the security log saw %v, want only the peer 127.0.0.1", ips)
		}
	}
}

// TestHostPrefixedSessionCookie: over HTTPS the IDE's session cookie is
// __Host-ecode_session (Secure, host-only, Path=/), which a sibling origin
// cannot set; the bare name is then not accepted.
func TestHostPrefixedSessionCookie(t *testing.T) {
	srv := testutil.NewServer(t, testutil.NewStore(t, store.SQLite), testutil.ServerOptions{
		Config: func(c *config.Config) { c.PublicURL = "https://ide.example.test" }})
	resp, err := http.Post(srv.URL+"/api/auth/signup", "application/json",
		strings.NewReader(`{"email":"ada@example.test","password":"correct horse battery","name":"Ada"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if strings.Contains(c.Name, "ecode_session") {
			session = c
		}
	}
	if session == nil || session.Name != "__Host-ecode_session" || !session.Secure || session.Path != "/" || session.Domain != "" || !session.HttpOnly {
		t.Fatalf("session cookie over HTTPS: %+v", session)
	}
	me := func(name string) int {
		req, _ := http.NewRequest("GET", srv.URL+"/api/me", nil)
		req.AddCookie(&http.Cookie{Name: name, Value: session.Value})
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r.StatusCode
	}
	if got := me("__Host-ecode_session"); got != 200 {
		t.Errorf("with the __Host- cookie: %d", got)
	}
	if got := me("ecode_session"); got != http.StatusUnauthorized {
		t.Errorf("the bare name is accepted over HTTPS: %d", got)
	}
}
