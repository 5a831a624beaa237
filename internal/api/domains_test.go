package api_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"ecode/internal/app"
	"ecode/internal/client"
	"ecode/internal/config"
	"ecode/internal/domains"
	"ecode/internal/domains/domaintest"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

const testDomain = "app.example.test"

// domainServer is a server with custom domains on: TXT records from a DNS
// server on loopback, certificates from Pebble, an HTTPS listener.
type domainServer struct {
	*testutil.Server
	dns     *domaintest.DNS
	pebble  *domaintest.Pebble
	notices chan string // Notify's kinds
}

func newDomainServer(t *testing.T, st *store.Store) *domainServer {
	dns := domaintest.StartDNS(t)
	peb := domaintest.NewPebble(t)
	notices := make(chan string, 16)
	srv := testutil.NewServer(t, st, testutil.ServerOptions{Config: func(c *config.Config) {
		c.HTTPSAddr, c.DNSResolver, c.ACMEDirectory, c.ACMECAFile = "127.0.0.1:0", dns.Addr, peb.Directory, peb.CAFile
	}, Built: func(s *app.Server) {
		s.Domains.Notify = func(_ context.Context, userID, kind, title, body, link string) {
			if userID == "" || title == "" || body == "" || !strings.HasPrefix(link, "/p/") {
				t.Errorf("notification %q: user %q, title %q, body %q, link %q", kind, userID, title, body, link)
			}
			notices <- kind
		}
	}})
	ds := &domainServer{Server: srv, dns: dns, pebble: peb, notices: notices}
	u, _ := url.Parse(srv.URL)
	port, _ := strconv.Atoi(u.Port())
	peb.Start(t, dns.Addr, port) // http-01 challenges go to the main listener
	return ds
}

func (s *domainServer) wait(t *testing.T, want string) {
	t.Helper()
	select {
	case got := <-s.notices:
		if got != want {
			t.Fatalf("notification %q, want %q", got, want)
		}
	case <-time.After(90 * time.Second):
		t.Fatalf("no %q notification", want)
	}
}

func domainsPath(projectID string) string {
	return "/api/projects/" + projectID + "/deployment/domains"
}

func addDomain(c *client.Client, projectID, name string) (domains.Domain, error) {
	var d domains.Domain
	err := c.Do(context.Background(), "POST", domainsPath(projectID), strings.NewReader(`{"domain":"`+name+`"}`), "application/json", &d)
	return d, err
}

func verifyDomain(t *testing.T, c *client.Client, projectID, name string) domains.Domain {
	t.Helper()
	var d domains.Domain
	if err := c.Do(context.Background(), "POST", domainsPath(projectID)+"/"+name+"/verify", nil, "", &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func wantRefusal(t *testing.T, err error, status int, msg string) {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) || e.Status != status || !strings.Contains(e.Message+" "+strings.Join(mapValues(e.Fields), " "), msg) {
		t.Fatalf("got %v, want %d with %q", err, status, msg)
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// TestCustomDomainFlow: add a domain, see the records, verify it against
// the loopback DNS server (a wrong value first), get a certificate from
// Pebble, be served over HTTPS with it (and redirected from HTTP), have
// another account's claim refused, and renew on the fake clock.
func TestCustomDomainFlow(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		srv := newDomainServer(t, st)
		owner, stranger := srv.User(t, "owner"), srv.User(t, "stranger")
		p, err := owner.CreateProject(ctx, "site", "static")
		if err != nil {
			t.Fatal(err)
		}
		other, err := stranger.CreateProject(ctx, "squat", "static")
		if err != nil {
			t.Fatal(err)
		}

		_, err = addDomain(owner, p.ID, "https://nope")
		wantRefusal(t, err, 400, "without a scheme")
		d, err := addDomain(owner, p.ID, "App.Example.Test.")
		if err != nil {
			t.Fatal(err)
		}
		if d.Domain != testDomain || d.Status != "pending" || len(d.Records) == 0 || d.Records[0].Type != "TXT" ||
			d.Records[0].Name != "_ecode-challenge."+testDomain || d.Records[0].Value == "" {
			t.Fatalf("added: %+v", d)
		}
		token := d.Records[0].Value
		_, err = addDomain(stranger, other.ID, testDomain)
		wantRefusal(t, err, 409, "claimed by another account that has not verified it")

		// No record, then a wrong one: pending, with the reason.
		if got := verifyDomain(t, owner, p.ID, testDomain); got.Status != "pending" || !strings.Contains(got.Reason, "no TXT record") {
			t.Fatalf("without a record: %+v", got)
		}
		srv.dns.SetTXT("_ecode-challenge."+testDomain, "something-else")
		got := verifyDomain(t, owner, p.ID, testDomain)
		if got.Status != "pending" || !strings.Contains(got.Reason, `holds "something-else", not the value "`+token+`"`) {
			t.Fatalf("with a wrong record: %+v", got)
		}
		if _, ok := srv.Domains.ProjectForHost(ctx, testDomain); ok {
			t.Fatal("a pending domain is served")
		}

		srv.dns.SetTXT("_ecode-challenge."+testDomain, token)
		srv.dns.SetA(testDomain, "127.0.0.1")
		if got := verifyDomain(t, owner, p.ID, testDomain); got.Status != "verified" || got.Reason != "" {
			t.Fatalf("with the record: %+v", got)
		}
		if id, ok := srv.Domains.ProjectForHost(ctx, testDomain+":443"); !ok || id != p.ID {
			t.Fatalf("ProjectForHost = %q, %v", id, ok)
		}
		_, err = addDomain(stranger, other.ID, testDomain)
		wantRefusal(t, err, 409, "claimed by another account, which proved")

		srv.wait(t, domains.KindCertIssued)
		var list []domains.Domain
		if err := owner.Do(ctx, "GET", domainsPath(p.ID), nil, "", &list); err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].Certificate.Status != "issued" || list[0].Certificate.NotAfter == nil {
			t.Fatalf("list: %+v", list)
		}

		roots := srv.pebble.Root(t)
		publishAndWait(t, srv.Server, owner, p.ID) // the HTTPS listener serves the published app
		first := srv.httpsGet(t, roots)
		srv.checkRedirect(t)

		// Renewal: a third of the lifetime left on the fake clock.
		life := first.NotAfter.Sub(first.NotBefore)
		srv.Clock.Advance(first.NotAfter.Add(-life/3).Sub(srv.Clock.Now()) + time.Minute)
		srv.Domains.Wake()
		srv.wait(t, domains.KindCertIssued)
		if renewed := srv.httpsGet(t, roots); renewed.SerialNumber.Cmp(first.SerialNumber) == 0 {
			t.Fatal("the certificate served was not renewed")
		}

		for name, c := range map[string]*client.Client{"owner": owner, "stranger": stranger} { // the sessions expired meanwhile
			if _, err := c.Login(ctx, name+"@example.test", "correct horse battery"); err != nil {
				t.Fatal(err)
			}
		}
		if err := owner.Do(ctx, "DELETE", domainsPath(p.ID)+"/"+testDomain, nil, "", nil); err != nil {
			t.Fatal(err)
		}
		if _, ok := srv.Domains.ProjectForHost(ctx, testDomain); ok {
			t.Fatal("a removed domain is served")
		}
		if _, err := addDomain(stranger, other.ID, testDomain); err != nil {
			t.Fatalf("claim after removal: %v", err)
		}
	})
}

// publishAndWait publishes a project and waits, on the deployment
// service's change notifications, until a release is live.
func publishAndWait(t *testing.T, srv *testutil.Server, c *client.Client, projectID string) {
	t.Helper()
	var out struct{ Release struct{ ID string } }
	if err := c.Do(context.Background(), "POST", "/api/projects/"+projectID+"/deployment/publish", strings.NewReader(`{"kind":"static"}`), "application/json", &out); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		changed := srv.Deploy.Changed()
		var d struct {
			ActiveReleaseID string `json:"active_release_id"`
		}
		if err := c.Do(ctx, "GET", "/api/projects/"+projectID+"/deployment", nil, "", &d); err != nil {
			t.Fatal(err)
		}
		if d.ActiveReleaseID == out.Release.ID {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("release %s never went live: %+v", out.Release.ID, d)
		}
	}
}

// httpsGet fetches the HTTPS listener with SNI = the domain, checking the
// certificate chains to roots, and returns the leaf.
func (s *domainServer) httpsGet(t *testing.T, roots *x509.CertPool) *x509.Certificate {
	t.Helper()
	addr := strings.TrimPrefix(s.HTTPSURL, "https://")
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: testDomain},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("https://" + testDomain + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Hello from E-Code") {
		t.Fatalf("HTTPS answer %d: %s", resp.StatusCode, body)
	}
	return resp.TLS.PeerCertificates[0]
}

// checkRedirect asks the main listener for the domain over plain HTTP.
func (s *domainServer) checkRedirect(t *testing.T) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+"/some/page?x=1", nil)
	req.Host = testDomain
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(s.HTTPSURL, "https://"))
	if want := "https://" + testDomain + ":" + port + "/some/page?x=1"; resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want {
		t.Fatalf("HTTP answer %d to %q, want a redirect to %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
}

// TestCustomDomainRefusals: viewers cannot add, names are validated,
// the server's own names are refused, another project's domain is 404.
func TestCustomDomainRefusals(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		srv := testutil.NewServer(t, st)
		owner, viewer := srv.User(t, "owner"), srv.User(t, "viewer")
		p, _ := owner.CreateProject(ctx, "site", "static")
		q, _ := owner.CreateProject(ctx, "other", "static")
		if _, err := owner.AddMember(ctx, p.ID, "viewer@example.test", "viewer"); err != nil {
			t.Fatal(err)
		}
		_, err := addDomain(viewer, p.ID, "a.example.com")
		wantRefusal(t, err, 403, "")
		for name, msg := range map[string]string{"p-x.localhost": "localhost", "127.0.0.1": "IP address",
			"a..b": "empty part", "*.example.com": "wildcard"} {
			_, err := addDomain(owner, p.ID, name)
			wantRefusal(t, err, 400, msg)
		}
		if _, err := addDomain(owner, p.ID, "a.example.com"); err != nil {
			t.Fatal(err)
		}
		_, err = addDomain(owner, p.ID, "a.example.com")
		wantRefusal(t, err, 409, "already added to this project")
		_, err = addDomain(owner, q.ID, "a.example.com")
		wantRefusal(t, err, 409, "another of your projects")
		err = owner.Do(ctx, "POST", domainsPath(q.ID)+"/a.example.com/verify", nil, "", nil)
		wantRefusal(t, err, 404, "domain not found")
		// Without ACME, a verified domain says why it has no certificate.
		var list []domains.Domain
		if err := owner.Do(ctx, "GET", domainsPath(p.ID), nil, "", &list); err != nil || len(list) != 1 {
			t.Fatal(list, err)
		}
		b, _ := json.Marshal(list[0])
		if !strings.Contains(string(b), `"records":[{"type":"TXT"`) {
			t.Fatalf("list: %s", b)
		}
	})
}
