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
		Config: func(c *config.Config) { c.AllowedHosts, c.PreviewDomain = "ide.example.org", "preview.example.org" }})
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
	for _, host := range []string{"localhost:5000", "127.0.0.1:1234", "[::1]:80", "IDE.example.org", "ide.example.org:443"} {
		if resp := hostRequest(t, srv, "GET", "/api/server", host, ""); resp.StatusCode != 200 {
			t.Errorf("Host %s: %s", host, resp.Status)
		}
	}
	if resp := hostRequest(t, srv, "GET", "/", "p-abc.preview.example.org", ""); resp.StatusCode == http.StatusMisdirectedRequest {
		t.Error("preview subdomain refused")
	}
	if resp := hostRequest(t, srv, "GET", "/healthz", "10.1.2.3:5000", ""); resp.StatusCode != 200 {
		t.Errorf("/healthz from a probe: %s", resp.Status)
	}
}
